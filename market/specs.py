"""Pre-registered resolution criteria: validate an experiment spec against the experiments registry
and hash it.

``experiments.registry`` is authoritative for names, parameters and bounds (``validate_spec``,
``spec_sha256``, ``statistic_name``); this module adds the criterion around the spec (statistic,
comparator, threshold), maps registry errors onto criterion fields (``spec.params.steps`` …) and
states the criterion in words. (Before the registry existed, specs were checked against a JSON
schema of docs/experiments.md; the registry replaced it.)
"""
from __future__ import annotations

import math
from typing import Any

import jsonschema

from experiments import registry
from experiments.concepts import LETTERS
from experiments.params import SpecError
from experiments.survey import campaign_spec

CONCEPTS = LETTERS
COMPARATORS = (">=", ">", "<=", "<")

# The outline a spec must have before anything reads it (clear messages for non-objects).
SHAPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["concept", "task"],
    "properties": {
        "concept": {"enum": list(CONCEPTS)},
        "task": {"type": "string"},
        "arch": {"type": "string"},
        "params": {"type": "object"},
    },
}


class CriterionError(ValueError):
    """An invalid resolution criterion; ``field`` names the offending field (``spec.params.lr`` …)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _schema_error(error: jsonschema.ValidationError) -> CriterionError:
    path = ".".join(str(p) for p in error.absolute_path)
    field = f"spec.{path}" if path else "spec"
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return CriterionError(f"spec.{missing}", f"spec.{missing} is required.")
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return CriterionError(field, f"{field} must be one of {allowed}; got {error.instance!r}.")
    return CriterionError(field, f"{field}: {error.message}")


def _check_schema(spec: Any, schema: dict) -> None:
    if not isinstance(spec, dict):
        raise CriterionError("spec", "spec must be a JSON object.")
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(spec), key=lambda e: list(e.path))
    if errors:
        raise _schema_error(errors[0])


def spec_validate(spec: Any) -> dict:
    """Validate an experiment spec (or a survey-campaign spec, docs/factor-markets.md) and return it
    normalized (defaults filled in)."""
    if campaign_spec.is_campaign_spec(spec):
        try:
            return campaign_spec.campaign_spec_validate(spec)
        except SpecError as exc:
            raise CriterionError(f"spec.{exc.field}" if exc.field != "spec" else "spec", exc.message) from exc
    _check_schema(spec, SHAPE_SCHEMA)
    try:
        return dict(registry.validate_spec(spec))
    except registry.SpecError as exc:
        field = getattr(exc, "field", None)
        raise CriterionError(f"spec.{field}" if field and field != "spec" else "spec", str(exc)) from exc


def spec_sha256(spec: dict) -> str:
    """SHA-256 of the canonical JSON of a (normalized) spec."""
    if campaign_spec.is_campaign_spec(spec):
        return campaign_spec.spec_sha256(spec)
    return str(registry.spec_sha256(spec))


def statistic_name(concept: str) -> str:
    """The statistic that resolves markets on ``concept`` (the protocol's ``statistic_name``)."""
    return str(registry.statistic_name(concept))


def statistic_names(concept: str) -> tuple[str, ...]:
    """Every statistic a market on ``concept`` may resolve on: the headline one first, then the
    protocol's alternates (``registry.statistic_names``; docs/protocols.md)."""
    return tuple(registry.statistic_names(concept))


def statistic_check(*, concept: str, statistic: Any) -> str:
    """``statistic`` if a market on ``concept`` may resolve on it; else CriterionError on ``statistic``."""
    headline, *alternates = statistic_names(concept)
    if statistic != headline and statistic not in alternates:
        also = f" (or an alternate: {', '.join(map(repr, alternates))})" if alternates else ""
        raise CriterionError(
            "statistic", f"concept {concept} is resolved by statistic {headline!r}{also}, not {statistic!r}."
        )
    return str(statistic)


def criterion_validate(*, spec: Any, statistic: str, comparator: str, threshold: Any) -> dict:
    """Validate a whole criterion; returns ``{spec, spec_sha256, statistic, comparator, threshold}``.

    Raises CriterionError naming the field and, for a bound, its allowed range.
    """
    normalized = spec_validate(spec)
    if campaign_spec.is_campaign_spec(normalized):
        expected = campaign_spec.factor_statistic_name(normalized)
        if statistic != expected:
            raise CriterionError(
                "statistic", f"this campaign spec is resolved by statistic {expected!r}, not {statistic!r}.")
    else:
        statistic_check(concept=normalized["concept"], statistic=statistic)
    if comparator not in COMPARATORS:
        raise CriterionError("comparator",
                             f"comparator must be one of {', '.join(COMPARATORS)}; got {comparator!r}.")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not math.isfinite(threshold):
        raise CriterionError("threshold", f"threshold must be a finite number; got {threshold!r}.")
    return {
        "spec": normalized,
        "spec_sha256": spec_sha256(normalized),
        "statistic": statistic,
        "comparator": comparator,
        "threshold": float(threshold),
    }


_ARCH_WORDS = {"mlp": "an MLP", "transformer": "a transformer", "cnn": "a CNN"}


def criterion_in_words(*, spec: dict, statistic: str, comparator: str, threshold: float | None,
                       confidence: float) -> str:
    """One sentence stating when the market resolves YES."""
    if campaign_spec.is_campaign_spec(spec):
        return campaign_spec.campaign_in_words(spec, comparator=comparator, threshold=threshold,
                                               confidence=confidence)
    words = {">=": "at least", ">": "greater than", "<=": "at most", "<": "less than"}[comparator]
    params = ", ".join(f"{k}={v}" for k, v in sorted(spec.get("params", {}).items())) or "default parameters"
    side = {">=": "lower", ">": "lower", "<=": "upper", "<": "upper"}[comparator]
    return (
        f"Train {spec.get('seeds')} seeds of {_ARCH_WORDS.get(spec.get('arch'), spec.get('arch'))} "
        f"on task {spec.get('task')} "
        f"({params}; preset {spec.get('preset', 'default')}) and compute protocol {spec.get('concept')}'s "
        f"statistic {statistic}. The market resolves YES if {statistic} is {words} {threshold:g} — "
        f"specifically if the {side} end of its {confidence:.0%} bootstrap confidence interval is {words} "
        f"{threshold:g} — NO if the interval lies entirely on the other side; if the interval straddles "
        f"the threshold, seeds are added up to {spec.get('seed_budget', spec.get('seeds'))}, and the "
        f"market is annulled if it still straddles."
    )
