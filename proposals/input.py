"""Checking a proposal's fields: one human message per bad field, never an exception for odd input.

The input may come from JSON (the API) or from the web form (already converted to numbers and
datetimes by the form), so every field is checked for its type first. The experiment spec is checked
by the experiments registry (through ``market.specs.spec_validate``), whose error names the field,
for example ``spec.params.steps``.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from experiments.concepts import FACTOR
from experiments.survey.campaign_spec import factor_statistic_name, is_campaign_spec
from market.models import Comparator, Concept
from market.specs import CriterionError, spec_validate, statistic_check
from proposals.models import REASON_MAX_LENGTH, TEXT_MAX_LENGTH, TITLE_MAX_LENGTH

FIELDS = ("concept", "title", "text", "spec", "statistic", "comparator", "threshold", "close_time", "liquidity")
REQUIRED = ("concept", "title", "text", "spec", "statistic", "comparator", "threshold", "close_time")
TITLE_MIN_LENGTH = 8
MIN_HORIZON = timedelta(hours=1)  # a market must stay open at least this long after submission
MAX_HORIZON = timedelta(days=730)
THRESHOLD_BOUND = 1e6  # |threshold|; every statistic of docs/protocols.md is far inside this
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")  # and unpaired surrogates


def liquidity_bounds() -> tuple[float, float]:
    """Allowed LMSR b of a proposed market (the house pays its b·ln 2 subsidy)."""
    pm = settings.PATHMARKET
    return float(pm.get("PROPOSAL_MIN_LIQUIDITY", 10.0)), float(pm.get("PROPOSAL_MAX_LIQUIDITY", 1000.0))


@dataclass(frozen=True)
class CleanProposal:
    concept: str
    title: str
    text: str
    spec: dict  # normalized by the registry
    statistic: str
    comparator: str
    threshold: float
    close_time: datetime
    liquidity: float


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", str: "a string", list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _text(value: Any, field: str, *, low: int, high: int, single_line: bool) -> str:
    if not isinstance(value, str):
        raise CriterionError(field, f"{field} must be a string, not {_type_name(value)}.")
    value = value.strip()
    if single_line:
        value = " ".join(value.split())
    if _CONTROL.search(value):
        raise CriterionError(field, f"{field} must not contain control characters or unpaired surrogates.")
    if len(value) < low:
        raise CriterionError(field, f"{field} must have at least {low} characters.")
    if len(value) > high:
        raise CriterionError(field, f"{field} must have at most {high} characters (got {len(value)}).")
    return value


def _markdown_text(value: Any) -> str:
    from market.sanitize import markdown_problem

    text = _text(value, "text", low=1, high=TEXT_MAX_LENGTH, single_line=False)
    problem = markdown_problem(text)
    if problem:
        raise CriterionError("text", f"text is too complex to show: {problem}")
    return text


def _number(value: Any, field: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CriterionError(field, f"{field} must be a number, not {_type_name(value)}.")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise CriterionError(field, f"{field} must be a finite number, not {value}.")
    if not (low <= number <= high):
        raise CriterionError(field, f"{field} must lie between {low:g} and {high:g}; got {number:g}.")
    return number


def _close_time(value: Any, now: datetime) -> datetime:
    field = "close_time"
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            raise CriterionError(field, "close_time must be an ISO 8601 date-time, e.g. 2030-01-31T12:00:00Z.")
        value = parsed
    if not isinstance(value, datetime):
        raise CriterionError(field, f"close_time must be an ISO 8601 date-time string, not {_type_name(value)}.")
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_current_timezone())
    if value < now + MIN_HORIZON:
        minutes = int(MIN_HORIZON.total_seconds() // 60)
        raise CriterionError(field, f"close_time must be at least {minutes} minutes in the future.")
    if value > now + MAX_HORIZON:
        raise CriterionError(field, f"close_time must be within {MAX_HORIZON.days} days from now.")
    return value


def proposal_clean(data: Any, *, now: datetime | None = None) -> tuple[CleanProposal | None, dict[str, list[str]]]:
    """Check every field of a proposal; returns ``(clean, {})`` or ``(None, {field: [message]})``."""
    if not isinstance(data, Mapping):
        return None, {"non_field_errors": [f"expected a JSON object of proposal fields, not {_type_name(data)}."]}
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}

    def check(field: str, func, *args, **kwargs) -> None:
        try:
            out[field] = func(*args, **kwargs)
        except CriterionError as exc:
            errors.setdefault(exc.field, []).append(exc.message)

    # Names are echoed back in the errors: escape what JSON cannot carry (unpaired surrogates).
    unknown = sorted(str(k).encode("utf-8", "backslashreplace").decode("utf-8") for k in data if k not in FIELDS)
    for key in unknown[:10]:
        errors[key] = [f"unknown field; allowed fields: {', '.join(FIELDS)}."]
    for field in REQUIRED:
        if field not in data or data[field] is None or data[field] == "":
            errors[field] = [f"{field} is required."]
    present = {k: v for k, v in data.items() if k in FIELDS and k not in errors}

    if "concept" in present:
        check("concept", _concept, present["concept"])
    if "title" in present:
        check("title", _text, present["title"], "title", low=TITLE_MIN_LENGTH, high=TITLE_MAX_LENGTH, single_line=True)
    if "text" in present:
        check("text", _markdown_text, present["text"])
    if "spec" in present:
        check("spec", spec_clean, present["spec"])
    if "comparator" in present:
        check("comparator", _comparator, present["comparator"])
    if "threshold" in present:
        check("threshold", _number, present["threshold"], "threshold", -THRESHOLD_BOUND, THRESHOLD_BOUND)
    if "close_time" in present:
        check("close_time", _close_time, present["close_time"], now)
    low, high = liquidity_bounds()
    liquidity = present.get("liquidity")
    if liquidity is None and "liquidity" not in errors:
        out["liquidity"] = float(settings.PATHMARKET["DEFAULT_LIQUIDITY"])
    elif liquidity is not None:
        check("liquidity", _number, liquidity, "liquidity", low, high)
    if "statistic" in present:
        check("statistic", _statistic, present["statistic"], out.get("concept"))
    if out.get("concept") == FACTOR and "spec" in out and "statistic" in out and is_campaign_spec(out["spec"]):
        expected = factor_statistic_name(out["spec"])
        if out["statistic"] != expected:
            errors.setdefault("statistic", []).append(
                f"this campaign spec is resolved by statistic {expected!r}, not {out['statistic']!r}."[:300])
    if "concept" in out and "spec" in out and out["spec"]["concept"] != out["concept"]:
        errors.setdefault("spec.concept", []).append(
            f"the spec is for concept {out['spec']['concept']}, but the proposal is for concept {out['concept']}."
        )
    if errors:
        return None, errors
    return CleanProposal(**{f: out[f] for f in FIELDS}), {}


def _concept(value: Any) -> str:
    if not isinstance(value, str) or value not in Concept.values:
        raise CriterionError("concept", f"concept must be one of {', '.join(Concept.values)}; got {value!r}."[:300])
    return value


def _comparator(value: Any) -> str:
    if not isinstance(value, str) or value not in Comparator.values:
        raise CriterionError(
            "comparator", f"comparator must be one of {', '.join(Comparator.values)}; got {value!r}."[:300]
        )
    return value


def _statistic(value: Any, concept: str | None) -> str:
    if not isinstance(value, str):
        raise CriterionError("statistic", f"statistic must be a string, not {_type_name(value)}.")
    if concept is None or concept == FACTOR:
        return value  # the concept's own error says what is wrong; a campaign's is checked against its spec
    try:
        return statistic_check(concept=concept, statistic=value)
    except CriterionError as exc:
        raise CriterionError("statistic", exc.message[:300]) from None


def spec_clean(value: Any) -> dict:
    if not isinstance(value, Mapping):
        raise CriterionError("spec", f"spec must be an object, not {_type_name(value)}.")
    if is_campaign_spec(value) and "design_seed_commitment" in value:
        raise CriterionError("spec.design_seed_commitment",
                             "is set by pathmarket when the market opens (from a seed nobody sees before the "
                             "close); leave it out.")
    try:
        return spec_validate(dict(value))
    except CriterionError as exc:
        raise CriterionError(exc.field, _spec_message(exc)) from None
    except (TypeError, ValueError) as exc:  # the registry raises SpecError (a ValueError) for anything else
        raise CriterionError(f"spec.{getattr(exc, 'field', '')}".rstrip("."), str(exc)[:500]) from None


def _spec_message(exc: CriterionError) -> str:
    """The registry's message without its own "field: " prefix (the API already names the field)."""
    cause = exc.__cause__
    message = getattr(cause, "message", None) or exc.message
    return str(message)[:500]


def reason_clean(value: Any) -> str:
    """A rejection reason: required text, at most REASON_MAX_LENGTH characters."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CriterionError("reason", "a rejection needs a reason the proposer can read.")
    return _text(value, "reason", low=1, high=REASON_MAX_LENGTH, single_line=False)


@cache
def registry_catalog() -> dict:
    """The experiments registry's catalog (concepts, tasks, archs, presets, parameter bounds), cached:
    building it counts FLOPs with torch, and it only changes with the code."""
    from experiments.registry import catalog

    return catalog()


def cost_estimate(spec: dict) -> dict[str, float]:
    """Estimated compute of a normalized spec (FLOPs for its seeds and its seed budget, CPU seconds); for a
    survey campaign, of its rows and its row budget (``campaign_cost_estimate``)."""
    from experiments.registry import MAX_FLOPS, estimate_cost
    from experiments.survey.campaign_spec import campaign_cost_estimate, is_campaign_spec

    raw = campaign_cost_estimate(spec) if is_campaign_spec(spec) else estimate_cost(spec)
    cost = {k: float(v) for k, v in raw.items()}
    cost["flops_cap"] = float(MAX_FLOPS)
    return cost
