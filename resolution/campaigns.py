"""Settling a factor market from its survey campaign (docs/factor-markets.md).

The market closes (``market.services.lifecycle.market_close``): its hidden design seed is revealed,
the design drawn and the campaign's first stage sent to the workers (``market.services.campaigns``).
Each finished unit announces itself (``experiments.signals.survey_unit_finished``); when the last unit
of the stage has finished, :func:`campaign_market_decide` estimates the general factor on the stage's
rows (``evaluator.factor.general_factor``, with the spec's transform and bootstrap sizes), reads the
pre-registered statistic and its bootstrap CI, and applies the decision rule of single experiments
(``experiments.decision.decide``, counting rows): YES or NO when the whole CI is on one side; more rows
of the same design, up to the row budget, when it straddles; annulment when it still straddles.

Exactly once: the decision reads the stage (``rows_planned``) before its slow estimate, then re-checks
under the market's row lock that the stage is unchanged and not yet decided (``rows_decided``), so a
redelivered task or two units finishing together decide once; ``market_resolve`` and ``market_annul``
are idempotent themselves. :func:`campaigns_resume_stalled` (a beat task) re-sends the units of a stage
that has stopped moving (a worker died) and decides a finished stage whose decision task was lost.
"""
from __future__ import annotations

import logging
import math
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from evaluator.factor import general_factor
from evaluator.factor_robust import factor_report
from evaluator.factor_statistics import factor_statistic
from evaluator.selectors import survey_matrix
from experiments.concepts import LETTERS
from experiments.decision import Criterion, decide
from experiments.survey.models import SurveyCell
from experiments.survey.services import (
    survey_stage_finished,
    survey_stage_progress,
    survey_stage_units,
    survey_units_enqueue,
)
from market.models import Market, MarketCampaign, MarketKind, MarketStatus
from market.services import market_annul, market_resolve, market_resolve_numeric
from market.services.campaigns import market_campaign_extend

logger = logging.getLogger(__name__)
_SETTLED = (MarketStatus.RESOLVED, MarketStatus.ANNULLED)
DECIDE_TASK = "resolution.tasks.campaign_market_decide_task"


def campaign_estimate(*, link: MarketCampaign, rows: int) -> dict[str, Any]:
    """The factor estimate of the campaign's first ``rows`` rows, as the decision and the report use it.

    Returns ``{rows, n_rows_used, factor (FactorResult as a dict), statistic, ci_low, ci_high, robust}``;
    ``robust`` holds the within-task and covariate-partialled checks (evaluator/factor_robust.py) for the
    report, or the reason they could not be computed. They do not enter the decision.
    """
    spec = link.market.spec
    matrix = survey_matrix(campaign_id=link.campaign_id, rows=rows)
    # a non-finite cell (a statistic that overflowed) counts as missing, as in the survey's own analysis
    stats = matrix[list(LETTERS)].astype(float).replace([math.inf, -math.inf], math.nan)
    result = general_factor(stats, transform=spec["transform"], n_bootstrap=int(spec["n_bootstrap"]),
                            n_null=int(spec["n_null"]), random_state=0)
    value, low, high = factor_statistic(result, spec)
    robust: dict[str, Any]
    try:
        full = factor_report(matrix, n_bootstrap=min(int(spec["n_bootstrap"]), 1000),
                             n_null=min(int(spec["n_null"]), 500), loto_bootstrap=200, loto_null=200)
        robust = {"estimates": full["estimates"], "verdict": full["verdict"],
                  "verdict_code": full["verdict_code"], "tasks": full["tasks"],
                  "leave_one_task_out": full["leave_one_task_out"]}
    except Exception as exc:  # noqa: BLE001 - the checks are for the report only: they never block a decision
        logger.warning("factor robustness checks failed on campaign %s: %r", link.campaign_id, exc)
        robust = {"error": str(exc) or repr(exc)}
    return {"rows": rows, "n_rows_used": int(len(matrix)), "factor": result.to_dict(),
            "statistic": _finite(value), "ci_low": _finite(low), "ci_high": _finite(high), "robust": robust,
            "computed_at": timezone.now().isoformat(timespec="seconds")}


def _finite(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def campaign_market_decide(*, market_id: int) -> dict[str, Any]:
    """Decide a factor market once its campaign's stage has finished; returns what was done.

    ``action`` is ``waiting`` (units still to run), ``already_decided``, ``already_settled``,
    ``resolved``, ``more_rows`` or ``annulled``.
    """
    link = MarketCampaign.objects.select_related("market", "campaign").get(market_id=market_id)
    market = link.market
    if market.status in _SETTLED:
        return {"action": "already_settled", "market_status": market.status}
    stage = link.rows_planned
    if link.campaign is None or stage == 0:
        return {"action": "waiting", "reason": "the campaign has not started"}
    if link.rows_decided >= stage:
        return {"action": "already_decided", "rows": stage}
    if not survey_stage_finished(campaign=link.campaign, rows=stage):
        return {"action": "waiting", "rows": stage}
    estimate = campaign_estimate(link=link, rows=stage)  # slow (bootstrap), so outside any lock
    if market.kind == MarketKind.NUMERIC:
        return _decide_numeric(market_id=market_id, stage=stage, estimate=estimate)
    spec = market.spec
    criterion = Criterion(statistic=market.statistic, comparator=market.comparator,
                          threshold=float(market.threshold), confidence=float(market.confidence))
    decision = decide(criterion=criterion, statistic=estimate["statistic"], ci_low=estimate["ci_low"],
                      ci_high=estimate["ci_high"], n_seeds=stage, seed_budget=int(spec["row_budget"]),
                      unit="rows")
    with transaction.atomic():
        locked = Market.objects.select_for_update(of=("self",)).get(pk=market_id)
        link = MarketCampaign.objects.select_for_update(of=("self",)).select_related("campaign").get(
            market_id=market_id)
        if locked.status in _SETTLED:
            return {"action": "already_settled", "market_status": locked.status}
        if link.rows_planned != stage or link.rows_decided >= stage:
            return {"action": "already_decided", "rows": stage}
        entry = {"rows": stage, "n_rows_used": estimate["n_rows_used"], "statistic": estimate["statistic"],
                 "ci_low": estimate["ci_low"], "ci_high": estimate["ci_high"], "outcome": decision.outcome,
                 "reason": decision.reason, "at": timezone.now().isoformat(timespec="seconds")}
        link.rows_decided = stage
        link.decisions = [*link.decisions, entry]
        link.report = estimate
        link.save(update_fields=["rows_decided", "decisions", "report"])
        note = f"Survey campaign {link.campaign.name} ({stage} rows): {decision.reason}"
        if decision.outcome in ("yes", "no"):
            result = market_resolve(market=locked.pk, outcome=decision.outcome, note=note)
            report = {"action": "resolved", "outcome": decision.outcome, "paid": str(result.paid),
                      "winners": result.winners}
        elif decision.outcome == "more_seeds":
            if locked.status == MarketStatus.CLOSED:
                locked.status = MarketStatus.RUNNING
                locked.save(update_fields=["status"])
            sent = market_campaign_extend(link=link, rows=int(decision.next_seed_count or stage))
            report = {"action": "more_rows", "rows": link.rows_planned, "units_sent": sent}
        else:
            result_a = market_annul(market=locked.pk, reason=note)
            report = {"action": "annulled", "refunded": str(result_a.refunded)}
    logger.info("factor market %s: %s", market_id, report)
    return {**report, "statistic": estimate["statistic"], "ci": [estimate["ci_low"], estimate["ci_high"]]}


def _decide_numeric(*, market_id: int, stage: int, estimate: dict[str, Any]) -> dict[str, Any]:
    """A numeric factor market resolves at the statistic's point estimate (the bin holding it pays); an
    undefined statistic annuls it with refunds. Same exactly-once guard as the binary decision."""
    value = estimate["statistic"]
    with transaction.atomic():
        locked = Market.objects.select_for_update(of=("self",)).get(pk=market_id)
        link = MarketCampaign.objects.select_for_update(of=("self",)).select_related("campaign").get(
            market_id=market_id)
        if locked.status in _SETTLED:
            return {"action": "already_settled", "market_status": locked.status}
        if link.rows_planned != stage or link.rows_decided >= stage:
            return {"action": "already_decided", "rows": stage}
        ci = (f" (95% CI {estimate['ci_low']:.4g} to {estimate['ci_high']:.4g})"
              if estimate["ci_low"] is not None and estimate["ci_high"] is not None else "")
        outcome = "resolved" if value is not None else "annul"
        if value is not None:
            reason = f"{locked.statistic} = {value:.6g}{ci} on {estimate['n_rows_used']} rows."
        else:
            reason = f"{locked.statistic} is undefined on these rows (too few, or its concepts constant)."
        link.rows_decided = stage
        link.decisions = [*link.decisions, {
            "rows": stage, "n_rows_used": estimate["n_rows_used"], "statistic": value,
            "ci_low": estimate["ci_low"], "ci_high": estimate["ci_high"], "outcome": outcome,
            "reason": reason, "at": timezone.now().isoformat(timespec="seconds")}]
        link.report = estimate
        link.save(update_fields=["rows_decided", "decisions", "report"])
        note = f"Survey campaign {link.campaign.name} ({stage} rows): {reason}"
        if value is None:
            annulled = market_annul(market=locked.pk, reason=note)
            report = {"action": "annulled", "refunded": str(annulled.refunded)}
        else:
            result = market_resolve_numeric(market=locked.pk, value=float(value), note=note)
            report = {"action": "resolved", "outcome": result.outcome, "value": float(value),
                      "paid": str(result.paid), "winners": result.winners}
    logger.info("numeric factor market %s: %s", market_id, report)
    return {**report, "statistic": value, "ci": [estimate["ci_low"], estimate["ci_high"]]}


def campaign_unit_finished(*, campaign_id: int) -> str:
    """A unit of ``campaign_id`` finished: show the market RUNNING, and send the decision task when the
    stage is complete (the listener of ``survey_unit_finished``). Returns what it did."""
    link = MarketCampaign.objects.select_related("market", "campaign").filter(campaign_id=campaign_id).first()
    if link is None:
        return "no market"
    if link.market.status == MarketStatus.CLOSED:
        Market.objects.filter(pk=link.market_id, status=MarketStatus.CLOSED).update(
            status=MarketStatus.RUNNING)
    if link.market.status in _SETTLED or link.rows_decided >= link.rows_planned:
        return "nothing to decide"
    if not survey_stage_finished(campaign=link.campaign, rows=link.rows_planned):
        return "stage running"
    _send_decide(link.market_id)
    return "decision sent"


def _send_decide(market_id: int) -> None:
    from celery import signature

    transaction.on_commit(lambda: signature(DECIDE_TASK, args=(market_id,)).delay())


def campaign_market_resend(*, market_id: int) -> dict[str, Any]:
    """Staff: send the units of the market's current stage that are not done now (without waiting for the
    stall sweep), or its decision when the stage has finished. Harmless if they are running: a unit whose
    cells are done is skipped, and the decision is taken once."""
    link = MarketCampaign.objects.select_related("market", "campaign").get(market_id=market_id)
    if link.market.status in _SETTLED:
        raise ValueError(f"the market is already {link.market.status}")
    if link.campaign is None:
        raise ValueError("the campaign has not started (the market is still open, or its design could not be "
                         "drawn: see the error on this page)")
    if survey_stage_finished(campaign=link.campaign, rows=link.rows_planned):
        _send_decide(link.market_id)
        return {"action": "decision sent", "units": 0}
    units = survey_stage_units(campaign=link.campaign, rows=link.rows_planned)
    with transaction.atomic():
        survey_units_enqueue(campaign_id=link.campaign_id, units=units)
    return {"action": "units sent", "units": len(units)}


def campaigns_resume_stalled(*, now=None, stall_seconds: int | None = None) -> dict[str, list[int]]:
    """Beat: re-send the units of stages that stopped moving; send the decision of finished stages.

    A stage has stalled when none of its cells changed for ``stall_seconds`` (default
    ``RUN_STALL_SECONDS``: longer than a unit's hard time limit, so a unit still running is never
    doubled). Re-sent units that are done already are skipped by the task itself.
    """
    now = now or timezone.now()
    default = settings.PATHMARKET.get("RUN_STALL_SECONDS", 7200)
    stall = int(default if stall_seconds is None else stall_seconds)
    out: dict[str, list[int]] = {"resent": [], "decided": []}
    links = (MarketCampaign.objects.select_related("market", "campaign")
             .filter(market__status__in=[MarketStatus.CLOSED, MarketStatus.RUNNING], campaign__isnull=False))
    for link in links:
        if link.rows_decided >= link.rows_planned:
            continue
        if survey_stage_finished(campaign=link.campaign, rows=link.rows_planned):
            _send_decide(link.market_id)
            out["decided"].append(link.market_id)
            continue
        latest = (SurveyCell.objects.filter(row__campaign=link.campaign, row__index__lt=link.rows_planned)
                  .order_by("-updated_at").values_list("updated_at", flat=True).first())
        moved = max(filter(None, [latest, link.stage_started_at]))
        if now - moved >= timedelta(seconds=stall):
            units = survey_stage_units(campaign=link.campaign, rows=link.rows_planned)
            with transaction.atomic():
                survey_units_enqueue(campaign_id=link.campaign_id, units=units)
            out["resent"].append(link.market_id)
            logger.warning("factor market %s: stage of %s rows stalled since %s; %d units re-sent",
                           link.market_id, link.rows_planned, moved, len(units))
    return out


def campaign_market_status(*, market: Market) -> dict[str, Any] | None:
    """What the report page and the API show of a factor market's campaign (None for other markets).

    The design seed and salt appear only once the market has closed and they were revealed.
    """
    link = MarketCampaign.objects.select_related("campaign").filter(market=market).first()
    if link is None:
        return None
    spec = market.spec
    out: dict[str, Any] = {
        "commitment": spec.get("design_seed_commitment"), "revealed": link.revealed,
        "design_seed": link.design_seed if link.revealed else None,
        "salt": link.salt if link.revealed else None,
        "revealed_at": link.revealed_at.isoformat() if link.revealed_at else None,
        "rows": spec["rows"], "row_budget": spec["row_budget"], "rows_planned": link.rows_planned,
        "rows_decided": link.rows_decided, "decisions": link.decisions, "error": link.error,
        "campaign": None, "progress": None, "estimate": link.report,
    }
    if link.revealed:
        from experiments.survey.campaign_spec import seed_commitment

        out["commitment_ok"] = seed_commitment(link.design_seed, link.salt) == out["commitment"]
    if link.campaign is not None:
        campaign = link.campaign
        out["campaign"] = {"id": campaign.pk, "name": campaign.name, "design_sha256": campaign.design_sha256,
                           "preset": campaign.preset}
        out["progress"] = survey_stage_progress(campaign=campaign, rows=link.rows_planned)
    return out
