"""The resolution criterion of a market on the general factor: a survey campaign, pre-registered.

A factor market (concept ``g``, docs/factor-markets.md) is not settled by one experiment but by a
*survey campaign*: ``rows`` settings drawn with a scrambled Sobol design (experiments/survey/design.py)
from pre-registered axes, all eight concepts measured on each (experiments/survey/row.py), then the
general factor estimated on those rows (evaluator/factor.py). Everything that decides the outcome is in
the spec and so in its SHA-256: the tasks, the axes with their bounds, the preset, the number of rows
and the row budget, the factor statistic, the transform and the bootstrap sizes — and a *commitment* to
the design seed. The seed itself is drawn when the market opens and kept hidden until it closes, so
nobody can run the design ahead of time; at close it is revealed and anyone can check it against the
commitment (:func:`seed_commitment`).

Spec (normalized by :func:`campaign_spec_validate`)::

    {"kind": "survey_campaign", "concept": "g", "preset": "survey",
     "tasks": ["digits", "lms", "sparse_parity"],
     "axis_overrides": ["digits.steps=150:300"],          # as given (normalized, sorted)
     "axes": {task: {name: {kind, low, high, log} | {kind: "choice", choices}}},   # resolved, hashed
     "rows": 96, "row_budget": 192,
     "statistic": "pc1_share" | "pc1_share_minus_null_p95" | "loading" | "sign_agreement",
     "concepts": [] | ["A"] | ["A", "E"],
     "transform": "rank", "n_bootstrap": 2000, "n_null": 1000, "design_version": 1,
     "design_seed_commitment": "<sha256 hex>"}             # added when the market opens

The criterion's statistic name (``Market.statistic``) is :func:`factor_statistic_name` of the spec:
``pc1_share``, ``pc1_share_minus_null_p95``, ``loading_A`` or ``sign_agreement_A_E``.
"""
from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections.abc import Mapping
from typing import Any

from experiments.concepts import FACTOR, LETTERS
from experiments.params import SpecError

KIND = "survey_campaign"
FACTOR_STATISTICS: dict[str, str] = {
    "pc1_share": "the share of variance on PC1 of the rank-transformed rows × concepts matrix, with its "
                 "bootstrap CI over rows",
    "pc1_share_minus_null_p95": "PC1's share minus the 95th percentile of PC1's share under Horn's parallel-"
                                "analysis null (column permutations); > 0 means PC1 beats the null. The CI is "
                                "PC1's bootstrap CI shifted by the same null percentile",
    "loading": "the PC1 loading of one concept (the correlation of its column with PC1; PC1's sign is fixed so "
               "that the loadings sum to ≥ 0), with its bootstrap CI",
    "sign_agreement": "the product of two concepts' PC1 loadings: > 0 when they load with the same sign, < 0 "
                      "when they pull against each other; its bootstrap CI comes from the same resamples "
                      "(each sign-aligned to the full-sample PC1, so the product does not depend on the sign)",
}
CONCEPTS_NEEDED = {"pc1_share": 0, "pc1_share_minus_null_p95": 0, "loading": 1, "sign_agreement": 2}
MIN_ROWS = 3  # the factor analysis needs at least 3 rows
TRANSFORMS = ("rank", "zscore")
KEYS = ("kind", "concept", "preset", "tasks", "axes", "rows", "row_budget", "statistic", "concepts", "transform",
        "n_bootstrap", "n_null", "design_seed_commitment")
DEFAULTS: dict[str, Any] = {"preset": "survey", "transform": "rank", "n_bootstrap": 2000, "n_null": 1000}
_COMMITMENT_PREFIX = "pathmarket-design-seed"


def is_campaign_spec(spec: Any) -> bool:
    """True for a spec that names a survey campaign (``kind`` = ``survey_campaign``)."""
    return isinstance(spec, Mapping) and spec.get("kind") == KIND


def max_rows() -> int:
    """The most rows a campaign may budget (``PATHMARKET["CAMPAIGN_MAX_ROWS"]``, default 384)."""
    from django.conf import settings

    return int(getattr(settings, "PATHMARKET", {}).get("CAMPAIGN_MAX_ROWS", 384))


def max_flops() -> float:
    """Compute cap of a campaign's whole row budget (``PATHMARKET["CAMPAIGN_MAX_FLOPS"]``, default 1e15:
    about 100 times a 192-row survey at the default axes)."""
    from django.conf import settings

    return float(getattr(settings, "PATHMARKET", {}).get("CAMPAIGN_MAX_FLOPS", 1e15))


def factor_statistic_name(spec: Mapping[str, Any]) -> str:
    """The criterion's statistic name: ``pc1_share``, ``loading_A``, ``sign_agreement_A_E`` …"""
    return "_".join([str(spec["statistic"]), *spec.get("concepts", [])])


def _int(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
        raise SpecError(field, f"must be a whole number from {low} to {high}; got {value!r}")
    if not low <= int(value) <= high:
        raise SpecError(field, f"must be from {low} to {high}; got {int(value)}")
    return int(value)


def _overrides(axes: Any) -> list[str]:
    """``{"[task.]name": "low:high" | "a|b|c" | [low, high]}`` or a list of ``name=…`` strings → sorted strings."""
    if axes is None:
        return []
    if isinstance(axes, list | tuple):
        out = []
        for item in axes:
            if not isinstance(item, str) or "=" not in item:
                raise SpecError("axes", f"each axis must be a string [task.]name=low:high or name=a|b|c; got {item!r}")
            out.append(item.strip())
        return sorted(out)
    if not isinstance(axes, Mapping):
        raise SpecError("axes", "axes must be an object {\"[task.]name\": \"low:high\"} or a list of strings")
    out = []
    for key, value in axes.items():
        field = f"axes.{key}"
        if isinstance(value, list | tuple) and len(value) == 2 and all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            text = f"{value[0]}:{value[1]}"
        elif isinstance(value, list | tuple) and value:
            text = "|".join(str(v) for v in value)
        elif isinstance(value, str) and value.strip():
            text = value.strip()
        else:
            raise SpecError(field, f"give low:high, [low, high] or a|b|c; got {value!r}")
        out.append(f"{key}={text}")
    return sorted(out)


def campaign_spec_validate(spec: Any, *, check_settings: bool = True) -> dict[str, Any]:
    """Validate a survey-campaign spec and return it normalized (defaults filled, axes resolved).

    Raises :class:`SpecError` whose ``field`` names the bad key (``rows``, ``axes.steps``, ``concepts`` …):
    too many rows, an unknown axis, bounds outside the registry, a statistic that does not exist, a
    loading of a concept that is not A–H. With ``check_settings`` the corner of the design space (every
    axis at its most expensive value) is checked against every concept's registry bounds and cost cap.
    """
    from experiments.registry import PRESETS
    from experiments.survey.design import DESIGN_VERSION, SURVEY_TASKS, plan

    if not isinstance(spec, Mapping):
        raise SpecError("spec", "a campaign spec must be a JSON object")
    unknown = sorted(set(spec) - set(KEYS) - {"axis_overrides", "design_version"})
    if unknown:
        raise SpecError(unknown[0], f"unknown key {unknown[0]!r}; allowed: {', '.join(KEYS)}")
    if spec.get("kind") != KIND:
        raise SpecError("kind", f"must be {KIND!r}")
    if spec.get("concept", FACTOR) != FACTOR:
        raise SpecError("concept", f"a survey campaign resolves the general factor: concept must be {FACTOR!r}")
    out: dict[str, Any] = {"kind": KIND, "concept": FACTOR, "design_version": DESIGN_VERSION}
    preset = spec.get("preset", DEFAULTS["preset"])
    if preset not in PRESETS:
        raise SpecError("preset", f"{preset!r} is not a preset; allowed: {', '.join(PRESETS)}")
    out["preset"] = preset
    tasks = spec.get("tasks", list(SURVEY_TASKS))
    if not isinstance(tasks, list | tuple) or not tasks or not all(isinstance(t, str) for t in tasks):
        raise SpecError("tasks", f"give a non-empty list of survey tasks: {', '.join(SURVEY_TASKS)}")
    for task in tasks:
        if task not in SURVEY_TASKS:
            raise SpecError("tasks", f"{task!r} is not a survey task (all eight concepts must run on it); "
                                     f"allowed: {', '.join(SURVEY_TASKS)}")
    out["tasks"] = list(dict.fromkeys(tasks))
    limit = max_rows()
    if "rows" not in spec:
        raise SpecError("rows", "rows is required (the settings the campaign measures first)")
    out["rows"] = _int(spec["rows"], "rows", MIN_ROWS, limit)
    out["row_budget"] = _int(spec.get("row_budget", out["rows"]), "row_budget", out["rows"], limit)
    statistic = spec.get("statistic")
    if statistic not in FACTOR_STATISTICS:
        raise SpecError("statistic", f"{statistic!r} is not a factor statistic; allowed: {', '.join(FACTOR_STATISTICS)}")
    out["statistic"] = statistic
    concepts = spec.get("concepts", [])
    need = CONCEPTS_NEEDED[statistic]
    if not isinstance(concepts, list | tuple) or len(concepts) != need:
        raise SpecError("concepts", f"{statistic} takes {need} concept letter(s); got {concepts!r}")
    for letter in concepts:
        if letter not in LETTERS:
            raise SpecError("concepts", f"{letter!r} is not a concept; allowed: {', '.join(LETTERS)}")
    if len(set(concepts)) != len(concepts):
        raise SpecError("concepts", "give two different concepts")
    out["concepts"] = list(concepts)
    transform = spec.get("transform", DEFAULTS["transform"])
    if transform not in TRANSFORMS:
        raise SpecError("transform", f"must be one of {', '.join(TRANSFORMS)}; got {transform!r}")
    out["transform"] = transform
    out["n_bootstrap"] = _int(spec.get("n_bootstrap", DEFAULTS["n_bootstrap"]), "n_bootstrap", 200, 10_000)
    out["n_null"] = _int(spec.get("n_null", DEFAULTS["n_null"]), "n_null", 200, 10_000)
    given = spec.get("axis_overrides", spec.get("axes")) if not _resolved(spec.get("axes")) else spec.get(
        "axis_overrides", [])
    out["axis_overrides"] = _overrides(given)
    # Drawing a small design checks every override (unknown axis, bad range, outside the registry).
    try:
        probe = plan(rows=len(out["tasks"]), seed=0, tasks=out["tasks"], preset=preset, axes=out["axis_overrides"])
    except SpecError as exc:
        raise SpecError(_axes_field(exc.field), exc.message) from None
    out["axes"] = probe["axes"]
    if _resolved(spec.get("axes")) and spec["axes"] != out["axes"]:
        raise SpecError("axes", "the resolved axes do not match the overrides (edit axis_overrides, not axes)")
    if check_settings:
        _check_corners(out)
        cap = max_flops()
        flops = campaign_cost_estimate(out)["flops_budget"]
        if flops > cap:
            raise SpecError("row_budget", f"the campaign's row budget is estimated at {flops:.3g} FLOPs, above the "
                                          f"campaign cap of {cap:.3g}; budget fewer rows or narrow the axes "
                                          "(steps, width, n_train) toward the survey's defaults")
    commitment = spec.get("design_seed_commitment")
    if commitment is not None:
        if not isinstance(commitment, str) or len(commitment) != 64 or any(c not in "0123456789abcdef"
                                                                             for c in commitment):
            raise SpecError("design_seed_commitment", "must be a SHA-256 hex digest (set when the market opens)")
        out["design_seed_commitment"] = commitment
    return out


def _resolved(axes: Any) -> bool:
    """True when ``axes`` is the resolved form ``{task: {name: {kind …}}}`` of a normalized spec."""
    return isinstance(axes, Mapping) and bool(axes) and all(
        isinstance(v, Mapping) and all(isinstance(a, Mapping) and "kind" in a for a in v.values())
        for v in axes.values())


def _axes_field(field: str) -> str:
    return "axes" + field[len("axis"):] if field.startswith("axis") else field


def _check_corners(spec: Mapping[str, Any]) -> None:
    """Every concept's spec at the most expensive corner of each task's axes (registry bounds, cost cap)."""
    from experiments.survey.design import SURVEY_ARCH, validate_setting

    for task, axes in spec["axes"].items():
        params: dict[str, Any] = {}
        for name, axis in axes.items():
            if axis["kind"] == "choice":
                numeric = [c for c in axis["choices"] if isinstance(c, int | float) and not isinstance(c, bool)]
                params[name] = max(numeric) if numeric else axis["choices"][0]
            else:
                value = axis["high"]
                params[name] = int(math.floor(value)) if axis["kind"] == "int" else value
        try:
            validate_setting(task, SURVEY_ARCH, params, preset=spec["preset"])
        except SpecError as exc:
            raise SpecError(_axes_field(f"axis.{exc.field.split('.')[-1]}") if "." in exc.field else "axes",
                            f"{task} at the corner of its axes: {exc.message}") from None


def spec_sha256(spec: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a normalized campaign spec."""
    canonical = json.dumps(dict(spec), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def seed_draw() -> tuple[int, str]:
    """A fresh design seed (32 bits, the design's range) and a 256-bit salt, from the OS's CSPRNG."""
    return secrets.randbelow(2**32), secrets.token_hex(32)


def seed_commitment(seed: int, salt: str) -> str:
    """SHA-256 of ``pathmarket-design-seed:<salt>:<seed>``: published at open, checkable at close.

    The salt makes the commitment impossible to invert by trying all 2³² seeds.
    """
    return hashlib.sha256(f"{_COMMITMENT_PREFIX}:{salt}:{int(seed)}".encode("ascii")).hexdigest()


def campaign_design(spec: Mapping[str, Any], *, seed: int, name: str) -> dict[str, Any]:
    """Draw the campaign's design (``row_budget`` rows) from the revealed seed; its axes must be the spec's.

    The first ``rows`` rows are the first stage; a straddling CI adds the next rows of the same design,
    so every stage is a prefix of it (a scrambled Sobol sequence's first points stay the same).
    """
    from experiments.survey.design import plan

    design = plan(rows=int(spec["row_budget"]), seed=int(seed), tasks=spec["tasks"], preset=spec["preset"],
                  axes=spec.get("axis_overrides", []), name=name)
    if design["axes"] != spec["axes"]:
        raise SpecError("axes", "today's survey axes resolve the pre-registered overrides differently; the "
                                "campaign cannot run the registered design")
    return design


def campaign_in_words(spec: Mapping[str, Any], *, comparator: str, threshold: float | None,
                      confidence: float) -> str:
    """One paragraph stating how the campaign resolves the market (a numeric one: no comparator)."""
    name = factor_statistic_name(spec)
    if not comparator or threshold is None:
        return (
            f"At close, reveal the design seed (committed to by "
            f"{spec.get('design_seed_commitment', '…')[:16]}…), draw {spec['rows']} settings of "
            f"{', '.join(spec['tasks'])} MLPs ({', '.join(spec.get('axis_overrides') or []) or 'the survey defaults'}"
            f"; preset {spec['preset']}), measure all eight concepts on each, and estimate {name} "
            f"({spec['transform']} transform). The market resolves in the bin that holds the estimate; its "
            "bootstrap CI is reported beside it. If the statistic is undefined on those rows, the market is "
            "annulled."
        )
    words = {">=": "at least", ">": "greater than", "<=": "at most", "<": "less than"}[comparator]
    budget = (f"; if the interval straddles the threshold, more rows of the same design are measured, up to "
              f"{spec['row_budget']}, and the market is annulled if it still straddles"
              if spec["row_budget"] > spec["rows"] else "; if it straddles, the market is annulled")
    overrides = ", ".join(spec.get("axis_overrides") or []) or "the survey's default axes"
    return (
        f"At close, reveal the design seed (committed to by {spec.get('design_seed_commitment', '…')[:16]}…), "
        f"draw {spec['rows']} settings of {', '.join(spec['tasks'])} MLPs ({overrides}; preset "
        f"{spec['preset']}), measure all eight concepts on each, and estimate the general factor "
        f"({spec['transform']} transform, {spec['n_bootstrap']} bootstrap resamples, {spec['n_null']} null "
        f"permutations). The market resolves YES if {name} is {words} {threshold:g} — if its whole "
        f"{confidence:.0%} bootstrap CI is — and NO if the CI lies entirely on the other side{budget}."
    )


def campaign_cost_estimate(spec: Mapping[str, Any]) -> dict[str, float]:
    """Estimated compute of a campaign: every concept's registry estimate at the mean of each task's
    axes, times the task's share of ``rows`` (``flops``, ``cpu_seconds_estimate``) and of
    ``row_budget`` (``flops_budget``)."""
    from experiments.registry import estimate_cost
    from experiments.survey.design import SURVEY_ARCH
    from experiments.survey.row import concept_spec

    out = {"flops": 0.0, "flops_budget": 0.0, "cpu_seconds_estimate": 0.0}
    tasks = spec["tasks"]
    for i, task in enumerate(tasks):
        params: dict[str, Any] = {}
        for name, axis in spec["axes"][task].items():
            if axis["kind"] == "choice":
                params[name] = axis["choices"][len(axis["choices"]) // 2]
            else:
                low, high = float(axis["low"]), float(axis["high"])
                # the mean of the axis's distribution (log-uniform: (h − l) / ln(h / l))
                mid = ((high - low) / math.log(high / low) if axis.get("log") and 0 < low < high
                       else (low + high) / 2)
                params[name] = int(round(mid)) if axis["kind"] == "int" else float(mid)
        share = [spec["rows"] // len(tasks) + (1 if i < spec["rows"] % len(tasks) else 0),
                 spec["row_budget"] // len(tasks) + (1 if i < spec["row_budget"] % len(tasks) else 0)]
        for letter in LETTERS:
            try:
                cost = estimate_cost(concept_spec(letter, task, SURVEY_ARCH, params, preset=spec["preset"]))
            except SpecError:  # a concept that does not run on the task: its cells fail as not runnable
                continue
            out["flops"] += cost["flops"] * share[0]
            out["flops_budget"] += cost["flops"] * share[1]
            out["cpu_seconds_estimate"] += cost["cpu_seconds_estimate"] * share[0]
    return out
