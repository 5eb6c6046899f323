"""A market's experiment runs: closing a market enqueues its resolution run and links it to the market.

``market`` imports ``experiments`` (never the other way): the run is created by
``experiments.services.run_enqueue`` and the link is a ``MarketRun`` row of this app. Settling the
market when the run has decided is the resolution app's job (``resolution.services``).
"""
from __future__ import annotations

from django.db import transaction

from experiments.models import ExperimentRun
from experiments.services import run_enqueue
from market.models import Market, MarketKind, MarketRun

ACTIVE = (ExperimentRun.Status.QUEUED, ExperimentRun.Status.RUNNING)


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


def market_active_resolution_run(
    *, market_id: int, exclude_run_id: int | None = None
) -> ExperimentRun | None:
    """The market's QUEUED or RUNNING resolution run, if any (call it with the market row locked)."""
    runs = ExperimentRun.objects.filter(
        market_link__market_id=market_id, purpose=ExperimentRun.Purpose.RESOLUTION, status__in=ACTIVE
    )
    if exclude_run_id is not None:
        runs = runs.exclude(pk=exclude_run_id)
    return runs.order_by("-pk").first()


def market_run_enqueue(*, market: Market) -> ExperimentRun:
    """Create (or return the active) resolution run of a closed market; it starts after commit.

    The caller holds the market's row lock (``market_close``), so two closes never start two runs. A
    frozen spec the registry no longer accepts still gets a (FAILED) run, so the close goes through
    and staff see why.
    """
    with transaction.atomic():
        active = market_active_resolution_run(market_id=market.pk)
        if active is not None:
            return active
        run = run_enqueue(
            spec=market.spec,
            purpose=ExperimentRun.Purpose.RESOLUTION,
            criterion=market_criterion(market),
            keep_invalid=True,
        )
        MarketRun.objects.create(run=run, market=market)
    return run


def market_run_link(*, market_id: int, run: ExperimentRun) -> MarketRun:
    """Record that ``run`` belongs to the market (a verification run of its resolution run)."""
    link, _ = MarketRun.objects.get_or_create(run=run, defaults={"market_id": market_id})
    return link
