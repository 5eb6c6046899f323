"""Hand-made survey data for the evidence tests: a campaign whose rows carry chosen statistics."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from experiments.survey.models import SurveyCampaign, SurveyCell, SurveyRow


def survey_rows(
    rows: Iterable[Mapping[str, Any]], *, name: str = "hand-made", concept: str = "A"
) -> SurveyCampaign:
    """One campaign; each row ``{task, params, value[, arch, ci, details, status, concept]}`` gets one
    cell (of ``concept`` unless the row names another)."""
    rows = list(rows)
    design = {"name": name, "rows": [dict(r, ci=list(r.get("ci", ()))) for r in rows]}
    sha = hashlib.sha256(repr(design).encode()).hexdigest()
    campaign = SurveyCampaign.objects.create(
        name=name, design=design, design_sha256=sha, preset="survey", source=SurveyCampaign.Source.SHIPPED
    )
    for i, r in enumerate(rows):
        row = SurveyRow.objects.create(
            campaign=campaign, index=i, task=r["task"], arch=r.get("arch", "mlp"), params=dict(r["params"])
        )
        lo, hi = r.get("ci", (None, None))
        SurveyCell.objects.create(
            row=row,
            concept=r.get("concept", concept),
            status=r.get("status", "done"),
            statistic=r["value"],
            ci_low=lo,
            ci_high=hi,
            details=r.get("details", {}),
        )
    return campaign


def digits_row(
    value: float, *, noise: float = 0.3, lr: float = 1e-3, steps: int = 300, width: int = 32, **extra: Any
) -> dict[str, Any]:
    """A digits MLP survey row at the given parameters (the other surveyed axes at the survey's centre)."""
    params = {
        "batch_size": 64,
        "depth": 2,
        "init_scale": 1.0,
        "lr": lr,
        "noise": noise,
        "optimizer": "adam",
        "steps": steps,
        "weight_decay": 0.0,
        "width": width,
    }
    return {"task": "digits", "params": params, "value": value, **extra}
