"""Writes that need a run and its market: settling a market from its run, and the staff actions on a
market through a run (re-queue, verify, annul, re-resolve).

- ``market_settle_from_run``: called by the ``run_status_changed`` listener whenever a run changes
  status, inside the transaction that records the change. It mirrors a resolution run on its market
  (RUNNING while the experiment trains, back to CLOSED when it fails) and, when the run has succeeded,
  resolves YES/NO through ``market_resolve`` or annuls with refunds through ``market_annul`` — so the
  run's result and the payouts commit together. Scores are recomputed afterwards, in their own task
  (``market_settled`` → ``evaluator.receivers``). A second call does nothing.
- ``run_requeue`` / ``run_verify``: the experiments actions, plus what the market needs (one active
  resolution run per market; a verification run is linked to the market of the run it verifies).
- ``run_annul_market`` / ``run_reresolve_market``: staff annul a market whose run failed, or re-resolve
  it to the decision of a verification run that disagrees with the resolution.
"""
from __future__ import annotations

import logging
import math

from django.db import transaction

from evaluator.services import factor_record
from experiments import services as run_services
from experiments.models import ExperimentRun
from experiments.services import RunError
from experiments.survey.row import setting_key
from market.models import Market, MarketKind, MarketRun, MarketStatus
from market.services import market_annul, market_reresolve, market_resolve, market_resolve_numeric
from market.services.runs import market_active_resolution_run, market_run_link

logger = logging.getLogger(__name__)
_SETTLED = (MarketStatus.RESOLVED, MarketStatus.ANNULLED)

__all__ = [
    "RunError",
    "market_settle_from_run",
    "run_annul_market",
    "run_market_id",
    "run_requeue",
    "run_reresolve_market",
    "run_verify",
]


def run_market_id(*, run_id: int) -> int | None:
    """The id of the market the run was started for, or None (a dry run, a command-line run)."""
    return MarketRun.objects.filter(run_id=run_id).values_list("market_id", flat=True).first()


def _record_factor(run: ExperimentRun) -> str:
    """Add the resolved statistic to the evaluator's factor matrix (idempotent upsert there)."""
    if run.statistic is None:
        return "skipped: no finite statistic"
    try:
        with transaction.atomic():  # a savepoint: a factor bug must not undo the payouts
            factor_record(
                setup=setting_key(run.spec), task=run.spec["task"], arch=run.spec["arch"],
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
    run = ExperimentRun.objects.get(pk=run_id)
    market_id = run_market_id(run_id=run.pk)
    if market_id is None or run.purpose != ExperimentRun.Purpose.RESOLUTION:
        return {"action": "ignored"}
    with transaction.atomic():
        market = Market.objects.select_for_update(of=("self",)).get(pk=market_id)
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
            report = {"action": "resolved", "outcome": run.decision, "paid": str(result.paid),
                      "winners": result.winners}
        elif run.decision == "annul":
            annulled = market_annul(market=market.pk, reason=note)
            report = {"action": "annulled", "refunded": str(annulled.refunded),
                      "reversed": str(annulled.reversed)}
        else:
            return {"action": "none"}
        report["factor"] = _record_factor(run)
    return report


def _settle_numeric(market: Market, run: ExperimentRun) -> dict:
    """A numeric market resolves at the run's statistic (the bin holding it pays); a run without a
    finite statistic annuls it with refunds."""
    value = run.statistic
    if value is None or not math.isfinite(float(value)):
        result = market_annul(market=market.pk, reason=f"Run {run.pk} reported no finite statistic.")
        return {"action": "annulled", "refunded": str(result.refunded), "reversed": str(result.reversed)}
    has_ci = run.ci_low is not None and run.ci_high is not None
    ci = f" (CI {run.ci_low:.4g} to {run.ci_high:.4g})" if has_ci else ""
    name = run.statistic_name or market.statistic
    result = market_resolve_numeric(market=market.pk, value=float(value),
                                    note=f"Run {run.pk}: {name} = {value:.6g}{ci}.")
    return {"action": "resolved", "outcome": result.outcome, "value": float(value), "paid": str(result.paid),
            "winners": result.winners}


def run_requeue(*, run_id: int) -> ExperimentRun:
    """Staff: put a failed (or stalled) run back in the queue; a market's resolution run only while no
    other resolution run of that market is active (checked under the market's row lock)."""
    with transaction.atomic():
        run = ExperimentRun.objects.get(pk=run_id)
        market_id = run_market_id(run_id=run.pk)
        if market_id is not None and run.purpose == ExperimentRun.Purpose.RESOLUTION:
            Market.objects.select_for_update(of=("self",)).get(pk=market_id)
            if market_active_resolution_run(market_id=market_id, exclude_run_id=run.pk) is not None:
                raise RunError("another resolution run of this market is already active")
        return run_services.run_requeue(run_id=run.pk)


def run_verify(*, run_id: int, requested_by=None) -> ExperimentRun:
    """Staff: re-run a run's spec with fresh seeds; the verification run belongs to the same market."""
    with transaction.atomic():
        new = run_services.run_verify(run_id=run_id, requested_by=requested_by)
        market_id = run_market_id(run_id=new.verifies_id or run_id)
        if market_id is not None:
            market_run_link(market_id=market_id, run=new)
    return new


def _reason(reason: str, what: str) -> str:
    if not reason or not reason.strip():
        raise RunError(f"{what} needs a reason")
    return reason.strip()


def run_annul_market(*, run_id: int, reason: str, actor=None) -> dict:
    """Staff: annul (with refunds) the market of a run that failed or could not settle it."""
    reason = _reason(reason, "an annulment")
    run = ExperimentRun.objects.get(pk=run_id)
    market_id = run_market_id(run_id=run.pk)
    if market_id is None:
        raise RunError("this run has no market")
    if run.status in (ExperimentRun.Status.QUEUED, ExperimentRun.Status.RUNNING):
        raise RunError("the run is still active; wait for it to finish or fail")
    who = f" by {actor.get_username()}" if actor is not None else ""
    result = market_annul(market=market_id, reason=f"Annulled{who} after run {run.pk}: {reason}")
    return {"action": "annulled", "refunded": str(result.refunded),
            "already_annulled": result.already_annulled}


def run_reresolve_market(*, run_id: int, reason: str, actor=None) -> dict:
    """Staff: set a resolved market's outcome to the decision of a verification run of its resolution
    run (payouts reversed and paid again by ``market_reresolve``); the run and the reason go in the note
    (docs/markets.md, "Re-resolution")."""
    reason = _reason(reason, "a re-resolution")
    run = ExperimentRun.objects.get(pk=run_id)
    market_id = run_market_id(run_id=run.pk)
    if run.purpose != ExperimentRun.Purpose.VERIFY or run.verifies_id is None or market_id is None:
        raise RunError("only a verification run of a market's resolution run can re-resolve it")
    # A numeric market's runs carry no criterion: they settle on the statistic, not on a decision.
    numeric = Market.objects.filter(pk=market_id, kind=MarketKind.NUMERIC).exists()
    decided = run.statistic is not None if numeric else run.decision in ("yes", "no")
    if run.status != ExperimentRun.Status.SUCCEEDED or not decided:
        raise RunError(f"verification run {run.pk} has not decided YES or NO (status {run.status}, "
                       f"decision {run.decision or 'none'})")
    who = f" by {actor.get_username()}" if actor is not None else ""
    if numeric:
        result = market_reresolve(market=market_id, value=float(run.statistic),
                                  reason=f"verification run {run.pk} ({run.statistic:.6g}){who}: {reason}")
    else:
        result = market_reresolve(market=market_id, outcome=run.decision,
                                  reason=f"verification run {run.pk} ({run.decision_reason}){who}: {reason}")
    return {"action": "re-resolved", "outcome": result.outcome, "previous": result.previous,
            "reversed": str(result.reversed), "covered": str(result.covered), "paid": str(result.paid),
            "already_resolved": result.already_resolved}
