"""Survey benchmark: seconds per row by concept, the shared base ensemble against separate protocol
runs, one worker against two, and (``--validate K``) the survey preset against the default preset.

    python benchmarks/survey.py [--rows 3] [--design data/survey/designs/survey-v1.json] [--device cpu]
    python benchmarks/survey.py --validate 12 --concepts ABCEG      # Spearman survey vs default preset

Prints one JSON line. Every figure is a wall time of this process at one torch thread (or of two
single-thread worker processes), so ratios within one run are what to compare (docs/survey.md).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("OMP_NUM_THREADS", "1")


def _setup() -> None:
    import django
    import torch

    django.setup()
    torch.set_num_threads(1)


def _rows(args: argparse.Namespace) -> list[dict]:
    from experiments.survey.design import plan, read_design

    design = read_design(args.design) if args.design else plan(rows=max(args.rows, 3), seed=args.seed)
    rows, seen = [], {}
    for row in design["rows"]:  # the first rows of each task, interleaved
        if seen.get(row["task"], 0) < -(-args.rows // len(design["tasks"])):
            rows.append(row)
            seen[row["task"]] = seen.get(row["task"], 0) + 1
    return rows[:args.rows], design


def _time_row(row: dict, preset: str, device: str, concepts: str = "ABCDEFGH") -> dict:
    _setup()
    from experiments.survey.row import UNIT_OF, UNITS, run_unit

    out = {"row": row["row"], "task": row["task"], "unit_seconds": {}, "cells": {}}
    for unit in UNITS:
        if not any(UNIT_OF[c] == unit for c in concepts):
            continue
        start = time.perf_counter()
        try:
            res = run_unit(unit, row["task"], row["arch"], row["params"], preset=preset, device=device)
        except Exception as exc:  # noqa: BLE001 - a concept that cannot run here is reported, not fatal
            out["unit_seconds"][unit] = None
            out.setdefault("errors", {})[unit] = f"{type(exc).__name__}: {exc}"[:200]
            continue
        out["unit_seconds"][unit] = round(time.perf_counter() - start, 3)
        for c, v in res["cells"].items():
            # B: the survey preset names the data-order change; every B run measures all changes, so the
            # default preset's data-order ratio is read from its details to compare like with like
            ratio = (v.get("details") or {}).get("ratios", {}).get("data_order", {}).get("ratio") if c == "B" else None
            out["cells"][c] = ratio if ratio is not None else v["statistic"]
    return out


def _separate_base(row: dict, device: str) -> float:
    """A, C, E and G each trained by its own protocol run (what the survey avoids)."""
    from experiments.registry import build
    from experiments.survey.row import UNITS, concept_spec

    start = time.perf_counter()
    for letter in UNITS["base"]:
        protocol, config, seeds = build(concept_spec(letter, row["task"], row["arch"], row["params"]))
        protocol.run(config, seeds=seeds, device=device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=3)
    parser.add_argument("--design", default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--validate", type=int, default=0, help="settings to run at survey and default presets")
    parser.add_argument("--concepts", default="ABCDEFGH")
    args = parser.parse_args()
    _setup()
    import numpy as np
    from scipy.stats import spearmanr

    rows, design = _rows(args)
    result: dict = {"benchmark": "survey", "device": args.device, "threads": 1, "design": design.get("name"),
                    "rows": len(rows)}
    if args.validate:
        args.rows = args.validate
        rows, _ = _rows(args)
        table = []
        for row in rows:
            table.append({"row": row["row"], "task": row["task"],
                          "survey": _time_row(row, "survey", args.device, args.concepts),
                          "default": _time_row(row, "default", args.device, args.concepts)})
        spearman = {}
        for letter in args.concepts:
            pairs = [(t["survey"]["cells"].get(letter), t["default"]["cells"].get(letter)) for t in table]
            pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
            if len(pairs) >= 3 and np.ptp([a for a, _ in pairs]) > 0 and np.ptp([b for _, b in pairs]) > 0:
                spearman[letter] = {"rho": round(float(spearmanr(*zip(*pairs, strict=True)).statistic), 3),
                                    "n": len(pairs)}
            else:
                spearman[letter] = {"rho": None, "n": len(pairs), "why": "fewer than 3 pairs or a constant column"}
        result.update({"validation": spearman, "settings": table})
        print(json.dumps(result))
        return
    timed = [_time_row(row, "survey", args.device, args.concepts) for row in rows]
    by_task: dict[str, list[float]] = {}
    for t in timed:
        total = sum(v for v in t["unit_seconds"].values() if v is not None)
        by_task.setdefault(t["task"], []).append(total)
    units = sorted({u for t in timed for u in t["unit_seconds"]})
    result["seconds_per_row_by_task"] = {k: round(float(np.mean(v)), 2) for k, v in by_task.items()}
    result["seconds_by_unit"] = {u: round(float(np.mean([t["unit_seconds"][u] for t in timed
                                                          if t["unit_seconds"].get(u) is not None] or [np.nan])), 2)
                                 for u in units}
    result["errors"] = {f"{t['task']}/{u}": e for t in timed for u, e in t.get("errors", {}).items()}
    shared = [t["unit_seconds"].get("base") for t in timed if t["unit_seconds"].get("base")]
    separate = [_separate_base(row, args.device) for row in rows]
    result["base_shared_seconds"] = round(float(np.mean(shared)), 2)
    result["base_separate_seconds"] = round(float(np.mean(separate)), 2)
    result["ratio_separate_over_shared"] = round(float(np.mean(separate) / np.mean(shared)), 2)
    start = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_time_row, rows, ["survey"] * len(rows), [args.device] * len(rows),
                      [args.concepts] * len(rows)))
    two = time.perf_counter() - start
    one = sum(sum(v for v in t["unit_seconds"].values() if v is not None) for t in timed)
    result["rows_per_hour_one_worker"] = round(3600 * len(rows) / one, 1)
    result["rows_per_hour_two_workers"] = round(3600 * len(rows) / two, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
