"""Artifacts of a finished run: the run_experiment --json object (docs/experiments.md), result.json,
the CSV files, plots, provenance.

Everything is written under ``PATHMARKET["ARTIFACTS_DIR"]/<run id>/`` (``MEDIA_ROOT/runs/<id>/``)
and referenced by paths relative to ``MEDIA_ROOT``, so the files are served at ``/media/…``.
"""
from __future__ import annotations

import json
import logging
import platform
import tempfile
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from experiments.jsonsafe import finite_or_none, jsonable  # noqa: F401  (callers use run_artifacts.*)

logger = logging.getLogger(__name__)


def build_provenance(run, *, device_rows) -> dict:
    """Code version, torch version, devices, worker hosts, seeds and wall time of a run."""
    import torch

    from experiments.provenance import code_version

    devices = sorted({row.device for row in device_rows if row.device})
    hosts = sorted({row.worker for row in device_rows if row.worker})
    train_seconds = sum(row.wall_seconds for row in device_rows)
    started = run.started_at or run.created_at
    now = timezone.now()
    return {
        "code_version": code_version(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "device": ", ".join(devices) or "cpu",
        "worker_hosts": hosts,
        "seeds": [int(s) for s in run.seeds],
        "seed_chunk_size": int(settings.PATHMARKET.get("SEED_CHUNK_SIZE", 16)),
        "rounds": run.round + 1,
        "wall_seconds": round((now - started).total_seconds(), 3),
        "train_seconds": round(train_seconds, 3),
        "started_at": started.isoformat(),
        "finished_at": now.isoformat(),
        "run_id": run.pk,
    }


def scalar_values(output: dict) -> dict:
    """The per-seed scalars of one seed's output (numbers, booleans, short strings)."""
    values = {}
    for key, value in output.items():
        if key in ("seed", "behaviour"):
            continue
        if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
            value = value.item()
        if isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 200):
            values[key] = value
    return values


def result_object(run, result, frame, provenance: dict) -> dict:
    """The run_experiment --json object (docs/experiments.md) of a run: the engine's ``result_payload``
    (the same object
    ``run_experiment --json`` prints for the same spec and seeds), with the pipeline's extra
    provenance (worker hosts, training time, rounds) and the statistic's name added."""
    from experiments.registry import result_payload

    payload = result_payload(run.spec, result, frame, provenance)
    payload["provenance"] = {**payload["provenance"], **jsonable(provenance)}
    payload["statistic_name"] = str(getattr(result, "statistic_name", "") or "")
    payload["spec_sha256"] = run.spec_sha256
    return payload


def outputs_to_bytes(output: dict) -> bytes:
    """One seed's outputs as the ``.npz`` bytes of ``protocols.base.save_outputs`` (no pickle)."""
    from experiments.protocols.base import save_outputs

    with tempfile.TemporaryDirectory() as tmp:
        path = save_outputs(Path(tmp) / "outputs.npz", output)
        return path.read_bytes()


def outputs_from_bytes(blob: bytes | memoryview) -> dict:
    """Inverse of :func:`outputs_to_bytes`."""
    from experiments.protocols.base import load_outputs

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "outputs.npz"
        path.write_bytes(bytes(blob))
        return load_outputs(path)


def _relative(path: Path) -> str:
    return str(Path(path).resolve().relative_to(Path(settings.MEDIA_ROOT).resolve()))


def write(run, *, payload: dict, frame, outputs: list[dict]) -> dict[str, str]:
    """Write result.json, per_seed.csv (the ``per_seed`` rows), data.csv (the protocol's tidy frame)
    and outputs.npz (every seed's outputs, for ``protocols.base.load_outputs``); returns name → path
    relative to MEDIA_ROOT."""
    import pandas as pd

    from experiments.protocols.base import save_outputs

    out = run.artifacts_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(payload, indent=2, sort_keys=True, allow_nan=False))
    table = pd.DataFrame(payload["per_seed"])
    first = [c for c in ("seed", "behaviour") if c in table.columns]
    table[first + [c for c in table.columns if c not in first]].to_csv(out / "per_seed.csv", index=False)
    files = {"result": _relative(out / "result.json"), "per_seed_csv": _relative(out / "per_seed.csv")}
    if frame is not None and len(frame):
        frame.to_csv(out / "data.csv", index=False)
        files["data_csv"] = _relative(out / "data.csv")
    save_outputs(out / "outputs.npz", outputs)
    files["outputs"] = _relative(out / "outputs.npz")
    return files


def write_plots(protocol, config, frame, result, outputs, run) -> dict[str, str]:
    """The protocol's plots (behaviour distribution, training curves, key plot) as ``plot:<stem>``."""
    out = run.artifacts_dir / "plots"
    out.mkdir(parents=True, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    paths = protocol.plots(config, frame, result, outputs, out) or []
    return {f"plot:{Path(p).stem}": _relative(Path(p)) for p in paths}
