"""Survey datasets: a campaign written as a CSV with a provenance JSON beside it, loaded back, verified.

The CSV has one row per setting: ``row, setup, task, arch``, the drawn parameters as ``p_<name>``,
each concept's statistic under its stable name (``dis_ood`` … ``hit_rate_gap``, oriented higher = more
path-dependent) with ``<name>_ci_low`` / ``<name>_ci_high``, and the covariates ``cov_<name>``. Floats
are written with Python's shortest round-trip repr, so a value read back is bit-identical. The
provenance JSON holds the design (and its SHA-256), the code version, torch version and device(s),
the CSV's SHA-256, and for every cell its spec hash, seeds and wall time (docs/survey.md).
"""
from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.db import transaction

from experiments.concepts import CONCEPTS, LETTERS
from experiments.survey.models import SurveyCampaign, SurveyCell, SurveyRow
from experiments.survey.row import COVARIATES, UNIT_OF

PROVENANCE_VERSION = 1
CROSS_DEVICE_TOLERANCE = 0.05


def _stat(letter: str) -> str:
    return CONCEPTS[letter].statistic


def campaign_frame(campaign: SurveyCampaign, *, complete_only: bool = False) -> pd.DataFrame:
    """The campaign as the dataset's table (one row per setting; NaN = cell not done)."""
    rows = list(campaign.rows.prefetch_related("cells").order_by("index"))
    params = sorted({k for r in rows for k in r.params})
    records = []
    for r in rows:
        cells = {c.concept: c for c in r.cells.all() if c.status == SurveyCell.Status.DONE}
        if complete_only and len(cells) < len(LETTERS):
            continue
        rec: dict[str, Any] = {"row": r.index, "setup": r.setting_key(), "task": r.task, "arch": r.arch}
        rec.update({f"p_{k}": r.params.get(k) for k in params})
        for letter in LETTERS:
            cell = cells.get(letter)
            name = _stat(letter)
            for suffix, attr in (("", "statistic"), ("_ci_low", "ci_low"), ("_ci_high", "ci_high")):
                value = getattr(cell, attr) if cell is not None else None
                rec[name + suffix] = float("nan") if value is None else float(value)
        for cov in COVARIATES:
            value = (r.covariates or {}).get(cov)
            rec[f"cov_{cov}"] = float("nan") if value is None else float(value)
        records.append(rec)
    return pd.DataFrame.from_records(records)


def export_campaign(campaign: SurveyCampaign, prefix: str | Path, *, complete_only: bool = False
                    ) -> tuple[Path, Path, int]:
    """Write ``<prefix>.csv`` and ``<prefix>.provenance.json``; returns both paths and the row count."""
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    frame = campaign_frame(campaign, complete_only=complete_only)
    csv_path = prefix.with_suffix(".csv")
    frame.to_csv(csv_path, index=False)
    kept = set(frame["row"]) if len(frame) else set()
    cells = (SurveyCell.objects.filter(row__campaign=campaign, status=SurveyCell.Status.DONE, row__index__in=kept)
             .select_related("row").order_by("row__index", "concept"))
    per_cell: dict[str, dict[str, Any]] = {}
    devices, torches, codes = set(), set(), set()
    for c in cells:
        per_cell.setdefault(str(c.row.index), {})[c.concept] = {
            "spec_sha256": c.spec_sha256, "seeds": c.seeds, "wall_seconds": c.wall_seconds, "device": c.device,
            "code_version": c.code_version}
        devices.add(c.device)
        torches.add(c.torch_version)
        codes.add(c.code_version)
    provenance = {
        "version": PROVENANCE_VERSION, "dataset": csv_path.name,
        "csv_sha256": hashlib.sha256(csv_path.read_bytes()).hexdigest(),
        "campaign": campaign.name, "design_sha256": campaign.design_sha256, "design": campaign.design,
        "preset": campaign.preset, "n_rows": int(len(frame)), "n_rows_planned": campaign.rows.count(),
        "code_versions": sorted(codes), "torch_versions": sorted(torches), "devices": sorted(devices),
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "columns": {_stat(c): {"concept": c, "name": CONCEPTS[c].name, "orientation": CONCEPTS[c].orientation}
                    for c in LETTERS},
        "cells": per_cell,
    }
    prov_path = prefix.with_suffix(".provenance.json")
    prov_path.write_text(json.dumps(provenance, indent=1, sort_keys=True) + "\n")
    return csv_path, prov_path, int(len(frame))


def default_dataset() -> Path | None:
    """The newest shipped dataset under data/survey/ (by name), or None."""
    folder = Path(settings.BASE_DIR) / "data" / "survey"
    files = sorted(p for p in folder.glob("*.csv") if p.with_suffix(".provenance.json").exists())
    return files[-1] if files else None


def read_dataset(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The CSV and its provenance, checked against each other (the CSV's SHA-256)."""
    path = Path(path)
    prov_path = path.with_suffix(".provenance.json")
    if not path.exists() or not prov_path.exists():
        raise FileNotFoundError(f"{path} needs {prov_path.name} beside it")
    provenance = json.loads(prov_path.read_text())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if provenance.get("csv_sha256") != digest:
        raise ValueError(f"{path.name}: SHA-256 {digest[:12]}… does not match its provenance "
                         f"({str(provenance.get('csv_sha256'))[:12]}…); the file was changed")
    return pd.read_csv(path), provenance


def _float(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def load_dataset(path: str | Path) -> tuple[SurveyCampaign, bool]:
    """Load a shipped dataset as a SHIPPED campaign (idempotent by design hash). Returns (campaign, created)."""
    frame, provenance = read_dataset(path)
    design = provenance["design"]
    existing = SurveyCampaign.objects.filter(design_sha256=provenance["design_sha256"]).first()
    if existing is not None:
        return existing, False
    by_row = {str(k): v for k, v in provenance.get("cells", {}).items()}
    with transaction.atomic():
        campaign = SurveyCampaign.objects.create(
            name=provenance["campaign"], design=design, design_sha256=provenance["design_sha256"],
            preset=provenance["preset"], source=SurveyCampaign.Source.SHIPPED,
            provenance={k: provenance[k] for k in ("dataset", "csv_sha256", "code_versions", "torch_versions",
                                                     "devices", "exported_at", "n_rows", "n_rows_planned")})
        rows_by_index = {int(r["row"]): r for r in design["rows"]}
        for rec in frame.to_dict("records"):
            index = int(rec["row"])
            drawn = rows_by_index[index]
            covariates = {c: _float(rec.get(f"cov_{c}")) for c in COVARIATES}
            row = SurveyRow.objects.create(campaign=campaign, index=index, task=drawn["task"], arch=drawn["arch"],
                                           params=drawn["params"], covariates=covariates, setup=str(rec["setup"]))
            cells = []
            for letter in LETTERS:
                name = _stat(letter)
                value = _float(rec.get(name))
                meta = by_row.get(str(index), {}).get(letter, {})
                cells.append(SurveyCell(
                    row=row, concept=letter,
                    status=SurveyCell.Status.DONE if value is not None else SurveyCell.Status.FAILED,
                    statistic=value, ci_low=_float(rec.get(f"{name}_ci_low")),
                    ci_high=_float(rec.get(f"{name}_ci_high")), spec_sha256=meta.get("spec_sha256", ""),
                    seeds=meta.get("seeds", []), wall_seconds=meta.get("wall_seconds"),
                    device=meta.get("device", ""), code_version=meta.get("code_version", ""),
                    error="" if value is not None else "no value in the shipped dataset"))
            SurveyCell.objects.bulk_create(cells)
    return campaign, True


def verify_dataset(path: str | Path, *, rows: int = 3, seed: int = 0, tolerance: float | None = None,
                   log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Re-run ``rows`` random rows of a dataset and compare every cell with the shipped values.

    On the device the dataset was made on the values must be bit-identical; elsewhere they must agree
    within ``tolerance`` (default 0.05 on every statistic: float32 kernels differ between devices).
    """
    from experiments.provenance import provenance_base
    from experiments.survey.row import UNITS, run_unit
    from experiments.trainer import resolve_device

    frame, provenance = read_dataset(path)
    design_rows = {int(r["row"]): r for r in provenance["design"]["rows"]}
    here = provenance_base(resolve_device("auto"))["device"]
    same_device = provenance.get("devices") == [here]
    tol = 0.0 if tolerance is None and same_device else (CROSS_DEVICE_TOLERANCE if tolerance is None else tolerance)
    picked = sorted(random.Random(seed).sample(sorted(frame["row"].astype(int)), min(rows, len(frame))))
    lines, worst, ok = [], 0.0, True
    for index in picked:
        rec = frame[frame["row"] == index].iloc[0]
        drawn = design_rows[index]
        shipped_units = {UNIT_OF[c] for c in LETTERS if _float(rec[_stat(c)]) is not None}
        for unit in [u for u in UNITS if u in shipped_units]:
            log(f"row {index} ({drawn['task']}): re-running unit {unit}")
            out = run_unit(unit, drawn["task"], drawn["arch"], drawn["params"], preset=provenance["preset"])
            for letter, cell in out["cells"].items():
                shipped = _float(rec[_stat(letter)])
                fresh = cell["statistic"]
                if shipped is None:
                    continue
                diff = abs(fresh - shipped) if fresh is not None else math.inf
                worst = max(worst, diff)
                good = (fresh == shipped) if tol == 0.0 else diff <= tol
                ok &= good
                lines.append(f"row {index:>4} {drawn['task']:<14} {letter} {_stat(letter):<18} shipped {shipped!r:<22} "
                             f"now {fresh!r:<22} {'identical' if fresh == shipped else f'|Δ| {diff:.3g}'}"
                             f"{'' if good else '  MISMATCH'}")
    rule = "bit-identical (same device)" if tol == 0.0 else f"within {tol:g} (dataset made on {provenance.get('devices')}, here {here})"
    summary = (f"{'OK' if ok else 'FAILED'}: {len(picked)} rows re-run, every cell {rule}; largest |Δ| {worst:.3g}")
    return {"ok": ok, "lines": lines, "summary": summary, "rows": picked, "largest_difference": worst}
