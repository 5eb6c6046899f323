"""Where markets meet experiment runs.

- ``market_run_enqueue``: closing a market creates its resolution run (the Celery task is sent on
  commit by ``experiments.services.run_enqueue``).
- ``market_settle_from_run``: the one hook the run pipeline calls (``PATHMARKET["RUN_STATUS_HOOK"]``)
  whenever a resolution run changes status. It mirrors the run on the market (RUNNING while the
  experiment trains, back to CLOSED when it fails) and, when the run has succeeded, resolves YES/NO
  through ``market_resolve`` or annuls with refunds through ``market_annul`` — inside the caller's
  transaction, so the run's result and the payouts commit together. A second call does nothing.
- ``market_annul_from_run``: staff annul a market whose run failed (``PATHMARKET["RUN_ANNUL_HOOK"]``).
"""
from __future__ import annotations

import logging
import math

from django.db import transaction

from experiments.models import ExperimentRun
from market.models import Market, MarketKind, MarketStatus

logger = logging.getLogger(__name__)
_SETTLED = (MarketStatus.RESOLVED, MarketStatus.ANNULLED)


def market_criterion(market: Market) -> dict:
    """The pre-registered criterion of a market, as the run stores it ({} for a numeric market: its run
    reports the statistic, and the bin holding it is the outcome)."""
    if market.kind == MarketKind.NUMERIC:
        return {}
    return {
        "statistic": market.statistic,
        "comparator": market.comparator,
        "threshold": float(market.threshold),
        "confidence": float(market.confidence),
    }


def market_run_enqueue(*, market: Market):
    """Create (or return the active) resolution run of a closed market; it starts after commit."""
    from experiments.services import run_enqueue

    return run_enqueue(
        spec=market.spec,
        purpose="resolution",
        market_id=market.pk,
        criterion=market_criterion(market),
    )


def factor_setup_key(spec: dict) -> str:
    """Row key of the factor matrix for a spec (one definition: ``experiments.survey.row.setting_key``),
    so a resolved market fills the same row as a survey measuring the same setting."""
    from experiments.survey.row import setting_key

    return setting_key(spec)


def _record_factor(run: ExperimentRun) -> str:
    """Add the resolved statistic to the evaluator's factor matrix (idempotent upsert there)."""
    from evaluator.services import factor_record

    if run.statistic is None:
        return "skipped: no finite statistic"
    try:
        with transaction.atomic():  # a savepoint: a factor bug must not undo the payouts
            factor_record(
                setup=factor_setup_key(run.spec), task=run.spec["task"], arch=run.spec["arch"],
                concept=run.spec["concept"], statistic=run.statistic, run_id=run.pk, source="run",
            )
    except Exception as exc:  # noqa: BLE001 - reported in the run's settlement record and logged
        logger.exception("factor_record failed for run %s", run.pk)
        return f"error: {exc!r}"
    return "recorded"


def market_settle_from_run(*, run_id: int) -> dict:
    """Bring a market in line with its resolution run; settle it once when the run has succeeded.

    Returns a small report (stored on the run as ``settlement``): ``action`` is one of
    ``ignored``, ``running``, ``closed``, ``resolved``, ``annulled``, ``already_settled``, ``none``.
    """
    from market.services import market_annul, market_resolve

    run = ExperimentRun.objects.get(pk=run_id)
    if run.market_id is None or run.purpose != ExperimentRun.Purpose.RESOLUTION:
        return {"action": "ignored"}
    with transaction.atomic():
        market = Market.objects.select_for_update(of=("self",)).get(pk=run.market_id)
        if market.status in _SETTLED:
            return {"action": "already_settled", "market_status": market.status, "outcome": market.outcome}
        if run.status == ExperimentRun.Status.RUNNING:
            if market.status == MarketStatus.CLOSED:
                market.status = MarketStatus.RUNNING
                market.save(update_fields=["status"])
            return {"action": "running"}
        if run.status in (ExperimentRun.Status.FAILED, ExperimentRun.Status.QUEUED):
            if market.status == MarketStatus.RUNNING:
                market.status = MarketStatus.CLOSED
                market.save(update_fields=["status"])
            return {"action": "closed"}
        # SUCCEEDED
        note = f"Run {run.pk}: {run.decision_reason}"
        if market.kind == MarketKind.NUMERIC:
            report = _settle_numeric(market, run)
        elif run.decision in ("yes", "no"):
            result = market_resolve(market=market.pk, outcome=run.decision, note=note)
            report = {"action": "resolved", "outcome": run.decision, "paid": str(result.paid), "winners": result.winners}
        elif run.decision == "annul":
            result = market_annul(market=market.pk, reason=note)
            report = {"action": "annulled", "refunded": str(result.refunded), "reversed": str(result.reversed)}
        else:
            return {"action": "none"}
        report["factor"] = _record_factor(run)
    return report


def _settle_numeric(market: Market, run: ExperimentRun) -> dict:
    """A numeric market resolves at the run's statistic (the bin holding it pays); a run without a
    finite statistic annuls it with refunds."""
    from market.services import market_annul, market_resolve_numeric

    value = run.statistic
    if value is None or not math.isfinite(float(value)):
        result = market_annul(market=market.pk, reason=f"Run {run.pk} reported no finite statistic.")
        return {"action": "annulled", "refunded": str(result.refunded), "reversed": str(result.reversed)}
    ci = f" (CI {run.ci_low:.4g} to {run.ci_high:.4g})" if run.ci_low is not None and run.ci_high is not None else ""
    result = market_resolve_numeric(market=market.pk, value=float(value),
                                    note=f"Run {run.pk}: {run.statistic_name or market.statistic} = {value:.6g}{ci}.")
    return {"action": "resolved", "outcome": result.outcome, "value": float(value), "paid": str(result.paid),
            "winners": result.winners}


def market_annul_from_run(*, run_id: int, reason: str, actor=None) -> dict:
    """Staff: annul (with refunds) the market of a run that failed or could not settle it."""
    from market.services import market_annul

    if not reason or not reason.strip():
        raise ValueError("an annulment needs a reason")
    run = ExperimentRun.objects.get(pk=run_id)
    who = f" by {actor.get_username()}" if actor is not None else ""
    result = market_annul(market=run.market_id, reason=f"Annulled{who} after run {run.pk}: {reason.strip()}")
    return {"action": "annulled", "refunded": str(result.refunded), "already_annulled": result.already_annulled}


def market_reresolve_from_run(*, run_id: int, reason: str, actor=None) -> dict:
    """Staff: set a resolved market's outcome to the decision of a verification run of its resolution
    run (payouts reversed and paid again by ``market_reresolve``); the run and the reason go in the note."""
    from market.services import market_reresolve

    if not reason or not reason.strip():
        raise ValueError("a re-resolution needs a reason")
    run = ExperimentRun.objects.get(pk=run_id)
    who = f" by {actor.get_username()}" if actor is not None else ""
    numeric = Market.objects.filter(pk=run.market_id, kind=MarketKind.NUMERIC).exists()
    if numeric and run.purpose == ExperimentRun.Purpose.VERIFY and run.statistic is not None:
        result = market_reresolve(market=run.market_id, value=float(run.statistic),
                                  reason=f"verification run {run.pk} ({run.statistic:.6g}){who}: {reason.strip()}")
    elif run.purpose != ExperimentRun.Purpose.VERIFY or run.decision not in ("yes", "no"):
        raise ValueError(f"run {run.pk} is not a verification run that decided YES or NO")
    else:
        result = market_reresolve(market=run.market_id, outcome=run.decision,
                                  reason=f"verification run {run.pk} ({run.decision_reason}){who}: {reason.strip()}")
    return {"action": "re-resolved", "outcome": result.outcome, "previous": result.previous,
            "reversed": str(result.reversed), "covered": str(result.covered), "paid": str(result.paid),
            "already_resolved": result.already_resolved}
