"""Pre-registered resolution criteria: validate an experiment spec and hash it.

The experiments registry (``experiments.registry``) is authoritative once it exists: ``criterion_validate``
then delegates the spec to ``validate_spec`` and the statistic name to ``statistic_name``. Until then the
spec is checked against the JSON schema below, which encodes the parameter names of DESIGN.md §4.3.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import math
from types import ModuleType
from typing import Any

import jsonschema

CONCEPTS = ("A", "B", "C", "D", "E", "F", "G", "H")
TASKS = ("digits", "modadd", "lms", "gotu", "sparse_parity", "two_pathway")
ARCHS = ("mlp", "transformer", "cnn", "linear")
PRESETS = ("tiny", "default")
COMPARATORS = (">=", ">", "<=", "<")
# The names of the experiments registry (authoritative), which calls the one-ulp change "one_ulp".
B_CHANGES = ("init_seed", "data_order", "one_ulp", "lr", "batch", "init_scale", "optimizer")
F_INTERVENTIONS = ("auto", "blur", "counterexamples", "regime", "block")
STATISTICS = {
    "A": "dis_ood",
    "B": "dis_ratio",
    "C": "minority_fraction",
    "D": "snap_fraction",
    "E": "one_minus_auroc_25",
    "F": "early_late_effect",
    "G": "one_minus_cka",
    "H": "hit_rate_gap",
}

_NUM = {"type": "number"}
# Bounds used while the registry is missing; they keep a market's experiment within a GPU-hour.
PARAM_SCHEMAS: dict[str, dict] = {
    "steps": {"type": "integer", "minimum": 1, "maximum": 200_000},
    "lr": {**_NUM, "exclusiveMinimum": 0, "maximum": 10},
    "width": {"type": "integer", "minimum": 1, "maximum": 4096},
    "optimizer": {"enum": ["sgd", "adam", "adamw"]},
    "p": {"type": "integer", "minimum": 5, "maximum": 211},
    "alpha": {**_NUM, "minimum": 0, "maximum": 1},
    "train_frac": {**_NUM, "minimum": 0.05, "maximum": 0.95},
    "weight_decay": {**_NUM, "minimum": 0, "maximum": 10},
    "noise": {**_NUM, "minimum": 0, "maximum": 5},
    "n_slab": {"type": "integer", "minimum": 1, "maximum": 500},
    "margin": {**_NUM, "minimum": 0, "maximum": 1},
    "n": {"type": "integer", "minimum": 2, "maximum": 64},
    "k": {"type": "integer", "minimum": 1, "maximum": 16},
    "change": {"enum": list(B_CHANGES)},
    "intervention": {"enum": list(F_INTERVENTIONS)},
}
COMMON_PARAMS = ("steps", "lr", "width", "optimizer")
TASK_PARAMS: dict[str, tuple[str, ...]] = {
    "digits": ("noise",),
    "modadd": ("p", "alpha", "train_frac", "weight_decay"),
    "lms": ("n_slab", "margin"),
    "gotu": ("n",),
    "sparse_parity": ("n", "k"),
    "two_pathway": (),
}
CONCEPT_PARAMS: dict[str, tuple[str, ...]] = {"B": ("change",), "F": ("intervention",)}

SPEC_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["concept", "task", "arch", "seeds", "params"],
    "additionalProperties": False,
    "properties": {
        "concept": {"enum": list(CONCEPTS)},
        "task": {"enum": list(TASKS)},
        "arch": {"enum": list(ARCHS)},
        "preset": {"enum": list(PRESETS)},
        "seeds": {"type": "integer", "minimum": 2, "maximum": 512},
        "seed_budget": {"type": "integer", "minimum": 2, "maximum": 1024},
        "params": {"type": "object"},
    },
}


# Always checked, registry or not: the outline a spec must have before anything reads it.
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


def _registry() -> ModuleType | None:
    try:
        module = importlib.import_module("experiments.registry")
    except ImportError:
        return None
    return module if hasattr(module, "validate_spec") else None


def _describe_bounds(schema: dict) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(map(str, schema["enum"]))
    kind = "an integer" if schema.get("type") == "integer" else "a number"
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum")
    left = "[" if "minimum" in schema else "("
    return f"{kind} in {left}{low}, {high}]" if low is not None and high is not None else kind


def _schema_error(error: jsonschema.ValidationError) -> CriterionError:
    path = ".".join(str(p) for p in error.absolute_path)
    field = f"spec.{path}" if path else "spec"
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return CriterionError(f"spec.{missing}", f"spec.{missing} is required.")
    if error.validator == "additionalProperties":
        return CriterionError(field, f"{field}: {error.message}.")
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator in ("enum", "minimum", "maximum", "exclusiveMinimum", "type") and schema:
        return CriterionError(field, f"{field} must be {_describe_bounds(schema)}; got {error.instance!r}.")
    return CriterionError(field, f"{field}: {error.message}")


def _check_schema(spec: Any, schema: dict) -> None:
    if not isinstance(spec, dict):
        raise CriterionError("spec", "spec must be a JSON object.")
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(spec), key=lambda e: list(e.path))
    if errors:
        raise _schema_error(errors[0])


def _check_params(spec: dict) -> None:
    """Parameter names and bounds of DESIGN.md §4.3 (used only while the registry is missing)."""
    params = spec["params"]
    allowed = COMMON_PARAMS + TASK_PARAMS[spec["task"]] + CONCEPT_PARAMS.get(spec["concept"], ())
    for name in params:
        if name not in allowed:
            raise CriterionError(
                f"spec.params.{name}",
                f"spec.params.{name} is not a parameter of task {spec['task']!r} "
                f"(allowed: {', '.join(allowed)}).",
            )
    for name, value in params.items():
        schema = PARAM_SCHEMAS[name]
        if isinstance(value, bool) or not jsonschema.Draft202012Validator(schema).is_valid(value):
            raise CriterionError(
                f"spec.params.{name}", f"spec.params.{name} must be {_describe_bounds(schema)}; got {value!r}."
            )
    if spec["concept"] == "B" and "change" not in params:
        raise CriterionError("spec.params.change", f"concept B needs spec.params.change, one of {', '.join(B_CHANGES)}.")
    if spec["task"] == "sparse_parity" and "k" in params and params["k"] > params.get("n", 2**31):
        raise CriterionError("spec.params.k", "spec.params.k must not exceed spec.params.n.")
    if spec["task"] == "digits" and spec["arch"] == "transformer":
        raise CriterionError("spec.arch", "digits runs with arch mlp or cnn.")
    if spec["arch"] == "cnn" and spec["task"] != "digits":
        raise CriterionError("spec.arch", "arch cnn is only available for task digits.")
    if (spec["arch"] == "linear") != (spec["task"] == "two_pathway"):
        raise CriterionError("spec.arch", "task two_pathway runs with arch linear, and only it does.")


def _normalize(spec: dict) -> dict:
    normalized = {**spec, "params": dict(spec["params"])}
    normalized.setdefault("preset", "default")
    normalized.setdefault("seed_budget", max(normalized["seeds"], 2 * normalized["seeds"]))
    if normalized["seed_budget"] < normalized["seeds"]:
        raise CriterionError("spec.seed_budget", "spec.seed_budget must be at least spec.seeds.")
    return normalized


def spec_validate(spec: Any) -> dict:
    """Validate an experiment spec and return it normalized (defaults filled in)."""
    _check_schema(spec, SHAPE_SCHEMA)
    registry = _registry()
    if registry is not None:
        try:
            return dict(registry.validate_spec(spec))
        except ValueError as exc:  # experiments.registry.SpecError is a ValueError
            field = getattr(exc, "field", None)
            raise CriterionError(f"spec.{field}" if field else "spec", str(exc)) from exc
    _check_schema(spec, SPEC_SCHEMA)
    _check_params(spec)
    return _normalize(spec)


def spec_sha256(spec: dict) -> str:
    """SHA-256 of the canonical JSON of a (normalized) spec."""
    registry = _registry()
    if registry is not None and hasattr(registry, "spec_sha256"):
        return str(registry.spec_sha256(spec))
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def statistic_name(concept: str) -> str:
    registry = _registry()
    if registry is not None and hasattr(registry, "statistic_name"):
        return str(registry.statistic_name(concept))
    return STATISTICS[concept]


def criterion_validate(*, spec: Any, statistic: str, comparator: str, threshold: Any) -> dict:
    """Validate a whole criterion; returns ``{spec, spec_sha256, statistic, comparator, threshold}``.

    Raises CriterionError naming the field and, for a bound, its allowed range.
    """
    normalized = spec_validate(spec)
    expected = statistic_name(normalized["concept"])
    if statistic != expected:
        raise CriterionError(
            "statistic", f"concept {normalized['concept']} is resolved by statistic {expected!r}, not {statistic!r}."
        )
    if comparator not in COMPARATORS:
        raise CriterionError("comparator", f"comparator must be one of {', '.join(COMPARATORS)}; got {comparator!r}.")
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


def criterion_in_words(*, spec: dict, statistic: str, comparator: str, threshold: float, confidence: float) -> str:
    """One sentence stating when the market resolves YES."""
    words = {">=": "at least", ">": "greater than", "<=": "at most", "<": "less than"}[comparator]
    params = ", ".join(f"{k}={v}" for k, v in sorted(spec.get("params", {}).items())) or "default parameters"
    side = {">=": "lower", ">": "lower", "<=": "upper", "<": "upper"}[comparator]
    return (
        f"Train {spec.get('seeds')} seeds of {_ARCH_WORDS.get(spec.get('arch'), spec.get('arch'))} on task {spec.get('task')} "
        f"({params}; preset {spec.get('preset', 'default')}) and compute protocol {spec.get('concept')}'s "
        f"statistic {statistic}. The market resolves YES if {statistic} is {words} {threshold:g} — "
        f"specifically if the {side} end of its {confidence:.0%} bootstrap confidence interval is {words} "
        f"{threshold:g} — NO if the interval lies entirely on the other side; if the interval straddles "
        f"the threshold, seeds are added up to {spec.get('seed_budget', spec.get('seeds'))}, and the "
        f"market is annulled if it still straddles."
    )
