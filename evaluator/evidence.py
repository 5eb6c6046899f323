"""Evidence for a factor market: what fresh surveys like its campaign would say, from the rows we have.

A market on the general factor (docs/factor-markets.md) names no trained setting, so the nearest-rows
evidence of single-experiment markets (experiments/evidence) does not apply. Its question is "what will
the factor statistic be on a fresh N-row survey of this design?", and the survey rows already measured
answer it by *subsampling*: draw many random N-row subsets (without replacement) of the measured rows
that fall inside the campaign's tasks and axes, estimate the statistic with its bootstrap CI on each,
and see where the threshold falls among them and how many subsets would settle the market on their own
CI. This is the base rate a forecaster should start from.

Subsets of one dataset overlap, so their spread understates the spread of independent surveys (Politis,
Romano and Wolf, *Subsampling*, Springer 1999, ch. 2: subsampling needs N much smaller than the pool);
the panel says how large N is next to the pool, and when the campaign's axes leave the surveyed range.
Connected to ``experiments.evidence.selectors`` in ``EvaluatorConfig.ready`` (the experiments app cannot
import the evaluator), and cached per market and survey-data version.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from django.core.cache import cache

from evaluator.factor import general_factor
from evaluator.selectors import survey_matrix
from experiments.concepts import LETTERS
from experiments.evidence import maths

N_SUBSETS = 24
_VERSION = 1


def _inside(matrix: pd.DataFrame, spec: dict) -> pd.Series:
    """Rows whose task is one of the campaign's and whose surveyed parameters lie inside its axes."""
    from experiments.survey.models import SurveyRow

    keep = matrix["task"].isin(spec["tasks"])
    params = dict(SurveyRow.objects.filter(setup__in=list(matrix.index)).values_list("setup", "params"))
    inside = []
    for setup, task in zip(matrix.index, matrix["task"], strict=True):
        axes, p = spec["axes"].get(task, {}), params.get(setup) or {}
        ok = True
        for name, axis in axes.items():
            if name not in p:
                continue
            v = p[name]
            if axis["kind"] == "choice":
                ok &= v in axis["choices"]
            else:
                ok &= float(axis["low"]) - 1e-9 <= float(v) <= float(axis["high"]) + 1e-9
        inside.append(bool(ok))
    return keep & pd.Series(inside, index=matrix.index)


def _outside(spec: dict) -> list[dict[str, Any]]:
    """Axes on which the campaign's box reaches beyond the survey's default range."""
    from experiments.survey.design import SURVEY_AXES

    out = []
    for task, axes in spec["axes"].items():
        default = {a.name: a for a in SURVEY_AXES.get(task, [])}
        for name, axis in axes.items():
            base = default.get(name)
            if base is None or axis["kind"] == "choice" or base.kind == "choice":
                continue
            if float(axis["low"]) < base.low - 1e-9 or float(axis["high"]) > base.high + 1e-9:
                out.append({"name": f"{task}.{name}", "value": f"{axis['low']:g}–{axis['high']:g}",
                            "low": base.low, "high": base.high})
    return out


def _data_version() -> str:
    from django.db.models import Count, Max

    from experiments.survey.models import SurveyCell

    agg = SurveyCell.objects.filter(status="done").aggregate(n=Count("id"), t=Max("updated_at"))
    return f"{agg['n']}-{agg['t'].isoformat() if agg['t'] else ''}"


def factor_evidence(obj: Any, *, k: int = N_SUBSETS) -> dict[str, Any]:
    """The "Evidence so far" panel of a factor market or proposal, in the shape of
    ``experiments.evidence.selectors.setting_evidence`` (``rows`` are the subsets). Cached."""
    from experiments.survey.campaign_spec import factor_statistic_name

    spec = obj.spec
    key = (f"factor-evidence:{_VERSION}:{obj.spec_sha256}:{obj.comparator}:{obj.threshold}:{k}:"
           f"{_data_version()}")
    cached = cache.get(key)
    if cached is not None:
        return cached
    statistic, comparator, threshold = factor_statistic_name(spec), obj.comparator, float(obj.threshold)
    matrix = survey_matrix()
    in_tasks = matrix[matrix["task"].isin(spec["tasks"])] if len(matrix) else matrix
    inside = _inside(in_tasks, spec) if len(in_tasks) else pd.Series(dtype=bool)
    n = int(spec["rows"])
    pool = in_tasks[inside] if int(inside.sum()) >= n else in_tasks
    boxed = pool is not in_tasks or len(in_tasks) == 0
    outside = _outside(spec)
    nearness = (
        f"Random {n}-row subsets (the campaign's first stage) of the {len(pool)} measured survey rows of "
        f"{', '.join(spec['tasks'])}" + (" that lie inside the campaign's axes" if boxed else
                                        f" (fewer than {n} lie inside the campaign's axes, so all of them)")
        + f"; each subset's {statistic} with its bootstrap CI ({spec['transform']} transform). Subsets of "
        "one dataset overlap, so they vary less than independent surveys would."
    )
    out: dict[str, Any] = {
        "concept": "g", "task": ", ".join(spec["tasks"]), "arch": "mlp", "statistic": statistic,
        "comparator": comparator, "threshold": threshold, "k": k,
        "nearness": {"text": nearness, "axes": []}, "arch_matched": True, "surveyed_task": True,
        "outside_survey": outside, "variants": {"question": {}, "evidence_differs": []},
        "n_candidates": int(len(pool)), "n_survey": 0, "n_runs": 0, "all_rows": None, "summary": None,
        "headline": "", "warning": None, "rows": [], "message": "",
    }
    if len(pool) < max(n, 3):
        out["message"] = (f"Only {len(pool)} survey rows of {', '.join(spec['tasks'])} are measured, fewer "
                          f"than the campaign's {n} rows, so no {n}-row survey can be simulated from them "
                          "yet.")
        cache.set(key, out, 3600)
        return out
    from evaluator.factor_statistics import factor_statistic

    stats = pool[list(LETTERS)].astype(float)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(k):
        idx = np.sort(rng.choice(len(stats), size=n, replace=False))
        result = general_factor(stats.iloc[idx], transform=spec["transform"], n_bootstrap=200, n_null=200,
                                random_state=i)
        value, low, high = factor_statistic(result, spec)
        if value is None:
            continue
        rows.append({"source": "subset", "campaign": "the measured survey rows", "row": i + 1, "run_id": None,
                     "setup": f"subset {i + 1}: {n} random rows", "label": f"{n} random rows", "arch": "mlp",
                     "params": {}, "distance": 0.0, "value": float(value), "ci_low": low, "ci_high": high,
                     "url": ""})
    values = np.array([r["value"] for r in rows], dtype=float)
    lows = np.array([r["ci_low"] if r["ci_low"] is not None else np.nan for r in rows], dtype=float)
    highs = np.array([r["ci_high"] if r["ci_high"] is not None else np.nan for r in rows], dtype=float)
    summary = maths.summarize(values, comparator=comparator, threshold=threshold, ci_low=lows, ci_high=highs)
    yes = maths.holds(values, comparator, threshold)
    sides = maths.ci_sides(lows, highs, comparator, threshold)
    for r, y, side in zip(rows, yes, sides, strict=True):
        r["side"], r["ci_side"] = ("yes" if y else "no"), str(side)
    out["rows"] = rows
    out["n_survey"] = len(rows)
    out["summary"] = summary.to_dict() if summary else None
    if summary is not None:
        out["headline"] = (
            f"On {summary.n} simulated {n}-row surveys drawn from the measured rows, {summary.share_yes:.0%} "
            f"have {statistic} {maths.SYMBOLS[comparator]} {threshold:g} (the YES side; median "
            f"{summary.median:.3g}); {summary.ci_yes} would resolve YES on their own CI, {summary.ci_no} NO, "
            f"and {summary.ci_straddles} would need more rows."
        )
        warning = maths.foregone_warning(summary, statistic=statistic, comparator=comparator,
                                         threshold=threshold)
        out["warning"] = warning.to_dict() if warning else None
    if outside:
        out["message"] = ("The campaign's axes reach beyond the survey's range on "
                          + ", ".join(o["name"] for o in outside) + ": the subsets are the survey's nearest "
                          "data, not a sample of this design, so weigh them lightly.")
        if not boxed:
            # No measured row lies in this design's space: the subsets are extrapolation, and a threshold
            # outside their range says nothing about the design's own outcome, so no foregone warning.
            out["warning"] = None
            out["message"] += (f" Only {int(inside.sum())} measured rows lie inside its axes, so no "
                               "foregone-conclusion warning is given.")
    cache.set(key, out, 3600)
    return out
