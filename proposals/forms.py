"""The web proposal form: plain fields here, the spec's parameters from the registry catalog.

The form only converts text to numbers; every rule lives in ``proposal_clean`` (shared with the API),
whose errors are mapped back onto the inputs (``spec.params.steps`` → the steps box).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone

from market.models import Comparator, Concept
from market.specs import statistic_name
from proposals.input import liquidity_bounds, registry_catalog
from proposals.models import TEXT_MAX_LENGTH, TITLE_MAX_LENGTH

PARAM_PREFIX = "param_"
# proposal_clean field → form field.
FIELD_MAP = {
    "spec.concept": "concept", "spec.task": "task", "spec.arch": "arch", "spec.preset": "preset",
    "spec.seeds": "seeds", "spec.seed_budget": "seed_budget",
}
FORM_FIELDS = ("concept", "title", "text", "task", "arch", "preset", "seeds", "seed_budget", "comparator",
               "threshold", "close_time", "liquidity")


def _default_close() -> str:
    return (timezone.now() + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M")


def _choice(choices, **attrs: Any) -> forms.CharField:
    """A drop-down whose value the service checks (``proposal_clean``), not the form."""
    return forms.CharField(required=False, widget=forms.Select(choices=choices, attrs=attrs))


class ProposalForm(forms.Form):
    """HTML inputs → the proposal data of ``proposal_create``. No rule is checked here: every field is
    optional to the form and only numbers are converted; ``proposal_clean`` (the one validation layer,
    shared with the API) checks everything and its messages come back on the inputs. The HTML
    ``maxlength``/``required`` attributes are hints for the browser, taken from the same constants."""

    concept = _choice(Concept.choices, id="concept")
    title = forms.CharField(required=False, strip=False,
                            widget=forms.TextInput(attrs={"size": 70, "id": "title", "maxlength": TITLE_MAX_LENGTH}))
    text = forms.CharField(
        required=False, strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80, "id": "text", "maxlength": TEXT_MAX_LENGTH}),
        help_text="Markdown (links, emphasis, lists, code); HTML is shown as text.",
    )
    task = forms.CharField(required=False, widget=forms.Select(attrs={"id": "task"}))
    arch = forms.CharField(required=False, widget=forms.Select(attrs={"id": "arch"}))
    preset = _choice([("default", "default"), ("tiny", "tiny")], id="preset")
    seeds = forms.IntegerField(required=False, widget=forms.NumberInput(attrs={"id": "seeds", "step": 1}),
                               help_text="Leave empty for the preset's number of seeds.")
    seed_budget = forms.IntegerField(required=False, widget=forms.NumberInput(attrs={"id": "seed_budget", "step": 1}),
                                     help_text="Most seeds if the confidence interval straddles the threshold.")
    comparator = _choice(Comparator.choices, id="comparator")
    threshold = forms.FloatField(required=False, widget=forms.NumberInput(attrs={"id": "threshold", "step": "any"}))
    close_time = forms.CharField(
        required=False,
        widget=forms.DateTimeInput(attrs={"id": "close_time", "type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="UTC.",
    )
    liquidity = forms.FloatField(required=False, widget=forms.NumberInput(attrs={"id": "liquidity", "step": "any"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        low, high = liquidity_bounds()
        default_b = settings.PATHMARKET["DEFAULT_LIQUIDITY"]
        self.fields["liquidity"].help_text = f"LMSR b, {low:g}–{high:g} (default {default_b:g})."
        self.fields["liquidity"].widget.attrs.update(min=low, max=high, placeholder=f"{default_b:g}")
        self.fields["close_time"].initial = _default_close()
        self.fields["preset"].initial = "default"
        available = registry_catalog()
        self.fields["concept"].widget.choices = [(k, v) for k, v in Concept.choices if k in available]

    def selected(self) -> tuple[str, str, str]:
        """(concept, task, preset) the parameter inputs are drawn for: posted values when valid, else defaults."""
        catalog = registry_catalog()
        source = self.data if self.is_bound else self.initial
        concept = source.get("concept") if source.get("concept") in catalog else next(iter(catalog))
        tasks = catalog[concept]["tasks"]
        task = source.get("task") if source.get("task") in tasks else next(iter(tasks))
        preset = source.get("preset") if source.get("preset") in ("tiny", "default") else "default"
        return concept, task, preset

    def param_rows(self, errors: dict[str, list[str]] | None = None) -> list[dict]:
        """One row per parameter of the selected concept and task: bounds, preset default, posted value, errors."""
        concept, task, preset = self.selected()
        info = registry_catalog()[concept]["tasks"][task]
        preset_params = info["presets"][preset]["params"]
        rows = []
        for name, bounds in info["params"].items():
            rows.append({
                "name": name, "input": PARAM_PREFIX + name, "type": bounds["type"], "doc": bounds.get("doc", ""),
                "min": bounds.get("min"), "max": bounds.get("max"), "choices": bounds.get("choices", []),
                "preset_value": preset_params.get(name, bounds.get("default")),
                "value": (self.data.get(PARAM_PREFIX + name, "") if self.is_bound else ""),
                "errors": (errors or {}).get(f"spec.params.{name}", []),
            })
        return rows

    def proposal_data(self) -> dict:
        """The proposal as the service takes it (after ``is_valid()``); empty parameter boxes keep the preset's value."""
        cd = self.cleaned_data
        concept, task, _ = self.selected()
        params = {}
        for name in registry_catalog()[concept]["tasks"][task]["params"]:
            raw = str(self.data.get(PARAM_PREFIX + name, "")).strip()
            if raw:
                params[name] = raw  # the registry converts and bounds-checks text numbers
        spec: dict[str, Any] = {"concept": cd["concept"], "task": cd["task"], "preset": cd["preset"], "params": params}
        if cd.get("arch"):
            spec["arch"] = cd["arch"]
        for key in ("seeds", "seed_budget"):
            if cd.get(key) is not None:
                spec[key] = cd[key]
        data = {
            "concept": cd["concept"], "title": cd["title"], "text": cd["text"], "spec": spec,
            "statistic": statistic_name(cd["concept"]) if cd["concept"] in registry_catalog() else "",
            "comparator": cd["comparator"], "threshold": cd["threshold"], "close_time": cd["close_time"],
        }
        if cd.get("liquidity") is not None:
            data["liquidity"] = cd["liquidity"]
        return data

    def add_service_errors(self, errors: dict[str, list[str]]) -> dict[str, list[str]]:
        """Attach the service's errors to the matching inputs; returns those of the spec's parameters."""
        param_errors: dict[str, list[str]] = {}
        for key, messages in errors.items():
            target = FIELD_MAP.get(key, key)
            if key.startswith("spec.params."):
                param_errors[key] = list(messages)
            elif target in FORM_FIELDS and target in self.fields:
                for message in messages:
                    self.add_error(target, message)
            else:
                label = "" if key in ("non_field_errors", "spec", "detail") else f"{key}: "
                for message in messages:
                    self.add_error(None, f"{label}{message}")
        return param_errors


# --- factor markets (concept g): a survey campaign (docs/factor-markets.md) -----------------------------

FACTOR_FORM_FIELDS = ("title", "text", "tasks", "rows", "row_budget", "preset", "statistic", "concept_a",
                      "concept_b", "axes", "comparator", "threshold", "close_time", "liquidity")
# proposal_clean field → factor form field (``spec.axes.<name>`` and ``spec.concepts`` are mapped by hand).
FACTOR_FIELD_MAP = {
    "spec.rows": "rows", "spec.row_budget": "row_budget", "spec.tasks": "tasks", "spec.preset": "preset",
    "spec.statistic": "statistic", "spec.axes": "axes", "spec.axis": "axes", "spec.axis_overrides": "axes",
}


def survey_axes_help() -> list[dict[str, str]]:
    """The survey's default axes, one line each: ``digits.steps 150–500 (log)``, ``digits.optimizer adam|adamw``."""
    from experiments.survey.design import SURVEY_AXES

    out = []
    for task, axes in SURVEY_AXES.items():
        for axis in axes:
            if axis.kind == "choice":
                values = "|".join(str(c) for c in axis.choices)
            else:
                values = f"{axis.low:g}–{axis.high:g}" + (" (log)" if axis.log else "")
            out.append({"name": f"{task}.{axis.name}", "values": values})
    return out


class FactorProposalForm(forms.Form):
    """HTML inputs → the proposal data of a factor market (concept ``g``, a survey-campaign spec).

    As in :class:`ProposalForm`, nothing is ruled on here beyond converting text to numbers:
    ``proposal_clean`` checks everything (``campaign_spec_validate`` for the spec) and its errors come back
    on the inputs (:meth:`add_service_errors`)."""

    title = ProposalForm.base_fields["title"]
    text = ProposalForm.base_fields["text"]
    tasks = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple(attrs={"class": "task-box"}))
    rows = forms.IntegerField(required=False, widget=forms.NumberInput(attrs={"id": "rows", "step": 1}))
    row_budget = forms.IntegerField(required=False, widget=forms.NumberInput(attrs={"id": "row_budget", "step": 1}),
                                    help_text="Most rows if the confidence interval straddles the threshold; "
                                              "empty: the same as rows.")
    preset = _choice([("survey", "survey"), ("tiny", "tiny (demos and tests)")], id="preset")
    statistic = _choice([], id="statistic")
    concept_a = _choice([], id="concept_a")
    concept_b = _choice([], id="concept_b")
    axes = forms.CharField(
        required=False, strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60, "id": "axes", "spellcheck": "false",
                                     "placeholder": "digits.steps=150:300\nbatch_size=64|128"}),
        help_text="One override per line: [task.]name=low:high or [task.]name=a|b|c; empty lines are ignored. "
                  "Without a task the override applies to every task that has the axis.",
    )
    comparator = ProposalForm.base_fields["comparator"]
    threshold = ProposalForm.base_fields["threshold"]
    close_time = ProposalForm.base_fields["close_time"]
    liquidity = ProposalForm.base_fields["liquidity"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from experiments.concepts import CONCEPTS
        from experiments.survey.campaign_spec import FACTOR_STATISTICS, MIN_ROWS, max_rows
        from experiments.survey.design import SURVEY_TASKS

        super().__init__(*args, **kwargs)
        low, high = liquidity_bounds()
        default_b = settings.PATHMARKET["DEFAULT_LIQUIDITY"]
        self.fields["liquidity"].help_text = f"LMSR b, {low:g}–{high:g} (default {default_b:g})."
        self.fields["liquidity"].widget.attrs.update(min=low, max=high, placeholder=f"{default_b:g}")
        self.fields["close_time"].initial = _default_close()
        self.fields["tasks"].choices = [(t, t) for t in SURVEY_TASKS]
        self.fields["tasks"].initial = list(SURVEY_TASKS)
        self.row_bounds = (MIN_ROWS, max_rows())
        for name in ("rows", "row_budget"):
            self.fields[name].widget.attrs.update(min=self.row_bounds[0], max=self.row_bounds[1])
        self.fields["rows"].initial = 96
        self.fields["rows"].help_text = (f"Settings measured in the first stage, {self.row_bounds[0]}–"
                                         f"{self.row_bounds[1]}.")
        self.fields["preset"].initial = "survey"
        self.fields["statistic"].widget.choices = [(k, k) for k in FACTOR_STATISTICS]
        self.fields["statistic"].initial = "pc1_share_minus_null_p95"
        concepts = [("", "—")] + [(letter, f"{letter}. {info.name}") for letter, info in CONCEPTS.items()]
        self.fields["concept_a"].widget.choices = concepts
        self.fields["concept_b"].widget.choices = concepts
        self.fields["comparator"].initial = ">="

    def concepts(self) -> list[str]:
        """The statistic's concepts from the two selects: none, the first (``loading``) or both
        (``sign_agreement``); an empty select is left out, so the service names what is missing."""
        cd = self.cleaned_data
        picked = {"loading": [cd.get("concept_a")],
                  "sign_agreement": [cd.get("concept_a"), cd.get("concept_b")]}.get(cd.get("statistic"), [])
        return [c for c in picked if c]

    def axis_lines(self) -> list[str]:
        return [line.strip() for line in str(self.cleaned_data.get("axes") or "").splitlines() if line.strip()]

    def proposal_data(self) -> dict:
        """The proposal as ``proposal_create`` takes it (after ``is_valid()``)."""
        from experiments.concepts import FACTOR
        from experiments.survey.campaign_spec import KIND, factor_statistic_name

        cd = self.cleaned_data
        spec: dict[str, Any] = {
            "kind": KIND, "concept": FACTOR, "tasks": list(cd.get("tasks") or []), "preset": cd["preset"],
            "statistic": cd["statistic"], "concepts": self.concepts(), "axes": self.axis_lines(),
        }
        for key in ("rows", "row_budget"):
            if cd.get(key) is not None:
                spec[key] = cd[key]
        data = {
            "concept": FACTOR, "title": cd["title"], "text": cd["text"], "spec": spec,
            "statistic": factor_statistic_name(spec) if cd["statistic"] else "",
            "comparator": cd["comparator"], "threshold": cd["threshold"], "close_time": cd["close_time"],
        }
        if cd.get("liquidity") is not None:
            data["liquidity"] = cd["liquidity"]
        return data

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Attach the service's errors to the matching inputs (``spec.axes.steps`` → the axes box, naming
        the axis; ``spec.concepts`` → the concept select it is about); the rest go to the form's top."""
        for key, messages in errors.items():
            for message in messages:
                if key.startswith(("spec.axes.", "spec.axis.")):
                    self.add_error("axes", f"{key.split('.', 2)[2]}: {message}")
                elif key == "spec.concepts":
                    second = self.data.get("statistic") == "sign_agreement" and self.data.get("concept_a")
                    self.add_error("concept_b" if second else "concept_a", message)
                elif key in ("statistic", "spec.statistic"):
                    self.add_error("statistic", message)
                elif key in FACTOR_FIELD_MAP or key in ("title", "text", "comparator", "threshold", "close_time",
                                                        "liquidity"):
                    self.add_error(FACTOR_FIELD_MAP.get(key, key), message)
                else:
                    label = "" if key in ("non_field_errors", "spec", "detail") else f"{key}: "
                    self.add_error(None, f"{label}{message}")
