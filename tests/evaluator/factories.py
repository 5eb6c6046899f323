"""Factories for evaluator tests: markets and forecasts with controlled times, created through the ORM
(the scoring window and forecast times must be exact), resolved through the market app's services."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model

from market.models import Account, Forecast, Market, MarketStatus


def t0() -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC)


def make_user(username: str, **kwargs):
    return get_user_model().objects.create_user(username=username, password="pw-test-2026", **kwargs)


def make_market(*, title: str = "Seeds disagree off-distribution", concept: str = "A", hours: float = 10.0,
                opened_at: datetime | None = None) -> Market:
    """An OPEN market whose window is [opened_at, opened_at + hours) in the past, with its maker account."""
    start = opened_at or t0()
    spec = {"concept": concept, "task": "digits", "arch": "mlp", "seeds": 8, "params": {}}
    market = Market.objects.create(
        title=title, concept=concept, question="?", spec=spec,
        spec_sha256=hashlib.sha256(repr(spec).encode()).hexdigest(), statistic="dis_ood", comparator=">=",
        threshold=0.03, status=MarketStatus.OPEN, opened_at=start, close_time=start + timedelta(hours=hours),
    )
    Account.objects.create(kind=Account.Kind.MAKER, market=market)
    return market


def forecast(market: Market, user, probability: float, *, hours: float, before: float | None = None) -> Forecast:
    """A trade to ``probability`` made ``hours`` after the market opened."""
    f = Forecast.objects.create(
        user=user, market=market, probability_before=before if before is not None else 0.5,
        probability_after=probability, delta_yes=0, delta_no=0, cost=0,
    )
    when = market.opened_at + timedelta(hours=hours)
    Forecast.objects.filter(pk=f.pk).update(created_at=when)
    f.created_at = when
    return f


def resolve(market: Market, outcome: str) -> Market:
    """Resolve through the market service; the score task it schedules on commit runs at the end."""
    from market.services import market_resolve
    from tests.scoring_support import scores_recomputed_on_commit

    with scores_recomputed_on_commit():
        market_resolve(market=market, outcome=outcome)
    market.refresh_from_db()
    return market
