"""Factor-market benchmark: what deciding a campaign stage costs next to training it.

    python benchmarks/factor_market.py [--csv data/survey/survey-v2.csv] [--repeats 2]

The decision (resolution/campaigns.py) runs one ``general_factor`` estimate with the spec's bootstrap
and null sizes (2,000 and 1,000 by default) and, for the report only, the robustness checks. This
script times both on the first 96, 192 and 288 rows of the shipped survey (rows are resampled with
replacement past its 192), times the evidence panel's 24 simulated surveys, and compares them with the
training time of the same rows from the dataset's recorded wall times. Prints one JSON line; compare the
ratios within one run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default=str(ROOT / "data" / "survey" / "survey-v2.csv"))
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import django

    django.setup()
    import numpy as np
    import pandas as pd

    from evaluator.factor import general_factor
    from evaluator.factor_robust import factor_report
    from experiments.concepts import LETTERS, STATISTIC_NAMES

    frame = pd.read_csv(args.csv, comment="#")
    for letter in LETTERS:  # the dataset names its columns by statistic; the analysis by letter
        frame[letter] = frame[STATISTIC_NAMES[letter]].astype(float)
    stats_all = frame[list(LETTERS)]
    provenance = Path(args.csv).with_suffix(".provenance.json")
    train_seconds_per_row = None
    if provenance.exists():  # every cell's recorded wall time, summed per row
        cells = json.loads(provenance.read_text())["cells"]
        train_seconds_per_row = float(np.mean([sum(c.get("wall_seconds") or 0 for c in row.values())
                                               for row in cells.values()]))
    rng = np.random.default_rng(0)
    out: dict[str, object] = {"rows_in_dataset": int(len(frame)),
                              "train_seconds_per_row_recorded": train_seconds_per_row}
    for n in (96, 192, 288):
        idx = np.arange(n) if n <= len(frame) else np.concatenate(
            [np.arange(len(frame)), rng.integers(0, len(frame), n - len(frame))])
        stats = stats_all.iloc[idx].reset_index(drop=True)
        matrix = frame.iloc[idx].reset_index(drop=True)
        best = best_robust = float("inf")
        for _ in range(args.repeats):
            t = time.perf_counter()
            general_factor(stats, n_bootstrap=2000, n_null=1000, random_state=0)
            best = min(best, time.perf_counter() - t)
            t = time.perf_counter()
            factor_report(matrix, n_bootstrap=1000, n_null=500, loto_bootstrap=200, loto_null=200)
            best_robust = min(best_robust, time.perf_counter() - t)
        out[f"decide_seconds_{n}_rows"] = round(best, 3)
        out[f"report_checks_seconds_{n}_rows"] = round(best_robust, 3)
        if train_seconds_per_row:
            share = (best + best_robust) / (train_seconds_per_row * n)
            out[f"decision_share_of_training_{n}_rows"] = round(share, 5)
    t = time.perf_counter()
    for i in range(24):  # the evidence panel's simulated surveys (evaluator/evidence.py)
        pick = rng.choice(len(stats_all), size=96, replace=False)
        general_factor(stats_all.iloc[pick], n_bootstrap=200, n_null=200, random_state=i)
    out["evidence_panel_seconds_cold"] = round(time.perf_counter() - t, 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
