"""Reads behind a question's "Evidence so far": survey rows and resolved runs near its setting.

:func:`setting_evidence` takes a criterion (spec, statistic, comparator, threshold) rather than a
market, so the market page, its API, the proposal review and scripts all call the same function
(docs/evidence.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from experiments.concepts import CONCEPTS, LEGACY_STATISTICS
from experiments.evidence import maths, space

NEAREST_K = 20
"""How many settings count as "nearest"."""


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return math.nan
    return float(value)


def _reader(concept: str, statistic: str):  # noqa: ANN202 - returns a small closure
    """(statistic, ci_low, ci_high, details, stored name) → the question's statistic and CI (NaN: not
    measured).

    The concept's own statistic is read directly; a legacy name (``one_minus_…``) as ``1 − x`` with its
    CI flipped; any other name from ``details`` (without a CI).
    """
    own = CONCEPTS[concept].statistic

    def read(
        value: Any, lo: Any, hi: Any, details: Mapping[str, Any] | None, name: str = ""
    ) -> tuple[float, ...]:
        if name and name not in (own, "") and statistic == own:
            return math.nan, math.nan, math.nan
        if statistic == own:
            return _number(value), _number(lo), _number(hi)
        if LEGACY_STATISTICS.get(statistic) == own:
            return 1 - _number(value), 1 - _number(hi), 1 - _number(lo)
        return _number((details or {}).get(statistic)), math.nan, math.nan

    return read


def _survey_points(concept: str, task: str, read) -> list[dict[str, Any]]:  # noqa: ANN001
    from experiments.survey.models import SurveyCell
    from experiments.survey.row import setting_key

    # values(): a campaign's design (tens of kB of JSON) must not be decoded once per cell
    cells = (
        SurveyCell.objects.filter(concept=concept, status=SurveyCell.Status.DONE, row__task=task)
        .order_by("-row__campaign__created_at", "row__index")
        .values(
            "statistic",
            "ci_low",
            "ci_high",
            "details",
            "spec",
            "row__index",
            "row__arch",
            "row__params",
            "row__campaign__name",
            "row__setup",
        )
    )
    points, seen = [], set()
    for cell in cells:
        arch, row_params = cell["row__arch"], cell["row__params"] or {}
        params = dict((cell["spec"] or {}).get("params") or row_params)
        params.update(row_params)
        ident = (arch, json.dumps(row_params, sort_keys=True))
        if ident in seen:
            continue  # the same setting in an older campaign
        value, lo, hi = read(cell["statistic"], cell["ci_low"], cell["ci_high"], cell["details"])
        if not math.isfinite(value):
            continue
        seen.add(ident)
        points.append(
            {
                "source": "survey",
                "campaign": cell["row__campaign__name"],
                "row": cell["row__index"],
                "run_id": None,
                "setup": cell["row__setup"] or setting_key({"task": task, "arch": arch, "params": params}),
                "task": task,
                "arch": arch,
                "params": params,
                "value": value,
                "ci_low": lo,
                "ci_high": hi,
                "url": "",
            }
        )
    return points


def _run_points(concept: str, task: str, read, exclude_spec_sha256: str) -> list[dict[str, Any]]:  # noqa: ANN001
    from experiments.models import ExperimentRun
    from experiments.survey.row import setting_key

    runs = (
        ExperimentRun.objects.filter(
            status=ExperimentRun.Status.SUCCEEDED,
            statistic__isnull=False,
            purpose__in=[ExperimentRun.Purpose.RESOLUTION, ExperimentRun.Purpose.VERIFY],
            spec__task=task,
            spec__concept=concept,
        )
        .exclude(spec_sha256=exclude_spec_sha256)
        .order_by("-id")
        .only("id", "spec", "spec_sha256", "statistic", "ci_low", "ci_high", "details", "statistic_name")
    )
    points, seen = [], set()
    for run in runs:
        if run.spec_sha256 in seen:
            continue  # a verification of a spec already counted
        value, lo, hi = read(run.statistic, run.ci_low, run.ci_high, run.details, run.statistic_name)
        if not math.isfinite(value):
            continue
        seen.add(run.spec_sha256)
        spec = run.spec or {}
        points.append(
            {
                "source": "run",
                "campaign": "",
                "row": None,
                "run_id": run.pk,
                "setup": setting_key(spec),
                "task": task,
                "arch": spec.get("arch", ""),
                "params": dict(spec.get("params") or {}),
                "value": value,
                "ci_low": lo,
                "ci_high": hi,
                "url": f"/api/v1/runs/{run.pk}/",
            }
        )
    return points


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def setting_evidence(
    *,
    spec: Mapping[str, Any],
    statistic: str,
    comparator: str,
    threshold: float,
    exclude_spec_sha256: str = "",
    k: int = NEAREST_K,
) -> dict[str, Any]:
    """The statistic across the survey rows and resolved runs nearest to ``spec``'s setting.

    Parameters
    ----------
    spec : mapping
        A normalized experiment spec (``concept``, ``task``, ``arch``, ``params``).
    statistic, comparator, threshold
        The question: YES when ``statistic <comparator> threshold``.
    exclude_spec_sha256 : str
        Runs of this spec are left out (a market's own runs are on its report, not its evidence).
    k : int
        How many settings count as nearest.

    Returns
    -------
    dict, JSON-ready: ``concept, task, arch, statistic, comparator, threshold, k``, ``nearness`` (how
    "near" is defined: ``text`` and the ``axes``), ``arch_matched``, ``outside_survey`` (axes on which the
    question's setting lies beyond the survey's range), ``variants`` (protocol variants that differ from
    the evidence's), ``n_candidates``, ``all_rows`` (summary over every candidate), ``summary`` (over the
    nearest, or None), ``headline``, ``message`` (why there is no evidence, or ""), ``warning`` (a
    foregone-conclusion warning or None) and ``rows`` (the nearest, nearest first, each with ``source,
    campaign, row, run_id, setup, label, arch, params, distance, value, ci_low, ci_high, side, ci_side, url``;
    ``label`` is the surveyed parameters in short).
    """
    from experiments.mltasks import TASKS
    from experiments.survey.design import SURVEY_AXES

    concept, task = str(spec.get("concept", "")), str(spec.get("task", ""))
    arch, params = str(spec.get("arch", "")), dict(spec.get("params") or {})
    if task not in TASKS or concept not in CONCEPTS:  # e.g. a market that a whole survey campaign settles
        return _no_setting(concept, task, arch, statistic, comparator, threshold, k)
    axes = space.task_axes(task)
    read = _reader(concept, statistic)
    candidates = _survey_points(concept, task, read) + _run_points(concept, task, read, exclude_spec_sha256)
    same_arch = [p for p in candidates if p["arch"] == arch]
    arch_matched = bool(same_arch) or not candidates
    pool = same_arch or candidates
    variants = space.protocol_variants(task, params)
    mismatch = np.array(
        [sum(p["params"].get(k_) != v for k_, v in variants.items()) for p in pool], dtype=float
    )
    target = space.coordinates(axes, params)
    points = np.array([space.coordinates(axes, p["params"]) for p in pool]).reshape(len(pool), len(axes))
    distances = maths.setting_distances(target, points, mismatches=mismatch) if pool else np.zeros(0)
    chosen = maths.nearest(distances, k=k) if pool else np.zeros(0, dtype=int)
    rows = [pool[i] for i in chosen]
    values = np.array([r["value"] for r in rows], dtype=float)
    lows = np.array([r["ci_low"] for r in rows], dtype=float)
    highs = np.array([r["ci_high"] for r in rows], dtype=float)
    summary = maths.summarize(values, comparator=comparator, threshold=threshold, ci_low=lows, ci_high=highs)
    pool_values = np.array([p["value"] for p in pool], dtype=float)
    everything = maths.summarize(pool_values, comparator=comparator, threshold=threshold)
    yes = maths.holds(values, comparator, threshold)
    sides = maths.ci_sides(lows, highs, comparator, threshold)
    out_rows = []
    for i, row in enumerate(rows):
        label = ", ".join(
            f"{a.name} {row['params'][a.name]:.3g}"
            for a in axes
            if isinstance(row["params"].get(a.name), int | float)
        )
        out_rows.append(
            {
                **{key: _clean(v) for key, v in row.items()},
                "label": label,
                "distance": _clean(float(distances[chosen[i]])),
                "side": "yes" if yes[i] else "no",
                "ci_side": str(sides[i]),
            }
        )
    surveyed = task in SURVEY_AXES
    if not candidates:
        message = (
            f"No survey rows for {task} yet (the survey covers {', '.join(SURVEY_AXES)}), and no resolved "
            f"run of concept {concept} on {task}."
            if not surveyed
            else f"No survey row or resolved run of concept {concept} on {task} has {statistic} yet."
        )
    else:
        message = ""
    differing = sorted(
        {
            f"{k_}={p['params'].get(k_)}"
            for p in rows
            for k_, v in variants.items()
            if p["params"].get(k_) != v
        }
    )
    warning = maths.foregone_warning(summary, statistic=statistic, comparator=comparator, threshold=threshold)
    return {
        "concept": concept,
        "task": task,
        "arch": arch,
        "statistic": statistic,
        "comparator": comparator,
        "threshold": float(threshold),
        "k": k,
        "nearness": {
            "text": (
                f"Same task ({task}) and architecture ({arch}"
                f"{'' if arch_matched else '; none measured, so other architectures'}); then the "
                f"{k} nearest by root-mean-square distance over "
                f"{', '.join(a.name for a in axes) or 'no axis'}, "
                "each measured in units of the survey's range of it (log scale for "
                f"{', '.join(a.name for a in axes if a.log) or 'none'})"
                + ("; a different protocol variant adds 1." if variants else ".")
            ),
            "axes": [a.describe() for a in axes],
        },
        "arch_matched": arch_matched,
        "surveyed_task": surveyed,
        "outside_survey": space.outside(axes, params),
        "variants": {"question": variants, "evidence_differs": differing},
        "n_candidates": len(pool),
        "n_survey": sum(r["source"] == "survey" for r in rows),
        "n_runs": sum(r["source"] == "run" for r in rows),
        "all_rows": everything.to_dict() if everything else None,
        "summary": summary.to_dict() if summary else None,
        "headline": maths.headline(summary, statistic=statistic, comparator=comparator, threshold=threshold),
        "message": message,
        "warning": warning.to_dict() if warning else None,
        "rows": out_rows,
    }


def _no_setting(
    concept: str, task: str, arch: str, statistic: str, comparator: str, threshold: float | None, k: int
) -> dict[str, Any]:
    """The panel of a question that names no single trained setting: nothing is near it."""
    return {
        "concept": concept,
        "task": task,
        "arch": arch,
        "statistic": statistic,
        "comparator": comparator,
        "threshold": None if threshold is None else float(threshold),
        "k": k,
        "nearness": {
            "text": "Nearness needs one task and architecture; this question names none.",
            "axes": [],
        },
        "arch_matched": False,
        "surveyed_task": False,
        "outside_survey": [],
        "variants": {"question": {}, "evidence_differs": []},
        "n_candidates": 0,
        "n_survey": 0,
        "n_runs": 0,
        "all_rows": None,
        "summary": None,
        "headline": "",
        "warning": None,
        "rows": [],
        "message": "This question is not about one trained setting, so no survey row is near it; "
        "see /factor/ for the survey as a whole.",
    }


_FACTOR_EVIDENCE: list[Callable[..., dict[str, Any]]] = []


def register_factor_evidence(provider: Callable[..., dict[str, Any]]) -> None:
    """Set the function that builds the panel of a market on the general factor (a survey-campaign spec).

    Estimating the factor is the evaluator's, which this app cannot import; the evaluator registers
    ``evaluator.evidence.factor_evidence`` here in its ``AppConfig.ready`` (docs/architecture.md).
    """
    _FACTOR_EVIDENCE[:] = [provider]


def criterion_evidence(obj: Any, *, k: int = NEAREST_K) -> dict[str, Any]:
    """:func:`setting_evidence` of anything holding a criterion (a market or a proposal): ``spec``,
    ``statistic``, ``comparator``, ``threshold`` and ``spec_sha256`` (its own runs are left out). A
    survey-campaign spec gets the registered factor evidence (:func:`register_factor_evidence`)."""
    from experiments.survey.campaign_spec import is_campaign_spec

    if is_campaign_spec(obj.spec) and _FACTOR_EVIDENCE and getattr(obj, "threshold", None) is not None:
        return _FACTOR_EVIDENCE[0](obj)
    if getattr(obj, "threshold", None) is None:  # a numeric market forecasts the statistic itself
        spec = obj.spec or {}
        out = _no_setting(obj.concept, spec.get("task", ""), spec.get("arch", ""), obj.statistic, "", None, k)
        out["message"] = ("This numeric market forecasts the statistic itself, with no threshold to set "
                          "against nearby settings; see the survey's rows on /factor/ for the values "
                          f"{obj.statistic} takes.")
        return out
    return setting_evidence(
        spec=obj.spec,
        statistic=obj.statistic,
        comparator=obj.comparator,
        threshold=obj.threshold,
        exclude_spec_sha256=obj.spec_sha256 or "",
        k=k,
    )
