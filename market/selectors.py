"""Reads of the market app: lists, histories, positions. Views and the API call these."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from experiments.models import ExperimentRun
from market import lmsr
from market.community import community_aggregate
from market.community import community_series as community_series_math
from market.models import Account, Forecast, Market, MarketKind, Position
from market.services.trade_write import decimals_load

ZERO = Decimal(0)
_DEC = DecimalField(max_digits=24, decimal_places=8)


class _Abs(Func):
    function = "ABS"


MARKET_SORTS = {
    "closing": "closing soon",
    "traded": "most traded",
    "uncertain": "most uncertain",
    "newest": "newest",
}


def market_search(*, search: str = "", concept: str | None = None, status: str | None = None,
                  sort: str | None = None) -> list[Market]:
    """``market_list`` narrowed to markets whose title or question holds every word of ``search``, in
    the order ``sort`` names (MARKET_SORTS): closing soon puts open markets first, by close time; most
    uncertain means the price nearest 50% (|q_yes − q_no| / b smallest)."""
    qs = market_list(concept=concept, status=status)
    for word in search.split()[:10]:
        qs = qs.filter(Q(title__icontains=word) | Q(question__icontains=word))
    if sort == "closing":
        open_first = Case(When(status="open", then=Value(0)), default=Value(1))
        return list(qs.order_by(open_first, "close_time", "pk"))
    if sort == "traded":
        return list(qs.order_by("-volume", "pk"))
    if sort == "newest":
        return list(qs.order_by("-created_at", "-pk"))
    markets = list(qs)
    if sort == "uncertain":
        markets.sort(key=lambda m: (abs(float(m.q_yes - m.q_no)) / m.liquidity, m.pk))
    return markets


def held_market_ids(*, user: AbstractBaseUser) -> set[int]:
    """Markets in which the user holds shares."""
    if not user.is_authenticated:
        return set()
    return set(Position.objects.filter(user=user).exclude(shares_yes=0, shares_no=0)
               .values_list("market_id", flat=True))


def market_list(*, concept: str | None = None, status: str | None = None) -> QuerySet[Market]:
    """Markets with ``volume`` (points traded, Σ|cost|) and ``forecasters`` (distinct users) annotated."""
    per_market = Forecast.objects.filter(market=OuterRef("pk")).order_by().values("market")
    volume = per_market.annotate(v=Sum(_Abs(F("cost")), output_field=_DEC)).values("v")
    users = per_market.annotate(n=Count("user", distinct=True)).values("n")
    qs = Market.objects.annotate(
        volume=Coalesce(Subquery(volume, output_field=_DEC), Value(ZERO, output_field=_DEC)),
        forecasters=Coalesce(Subquery(users), Value(0)),
    )
    if concept:
        qs = qs.filter(concept=concept)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("concept", "close_time", "pk")


def market_price_history(*, market: Market) -> list[dict]:
    """``[{time, probability}]``: the opening price 0.5 at ``opened_at``, then the price after each forecast."""
    start = market.opened_at or market.created_at
    first = [{"time": start, "probability": 0.5}] if start else []
    rows = Forecast.objects.filter(market=market).order_by("created_at", "pk").values_list(
        "created_at", "probability_after"
    )
    return first + [{"time": t, "probability": p} for t, p in rows]


def forecast_indices(*, market: Market, user: AbstractBaseUser) -> list[int]:
    """Positions (1 = first) of the user's forecasts in the market's history, for marking them on the chart."""
    if not user.is_authenticated:
        return []
    users = Forecast.objects.filter(market=market).order_by("created_at", "pk").values_list("user_id", flat=True)
    return [i for i, uid in enumerate(users, start=1) if uid == user.pk]


def forecast_history(*, market: Market) -> QuerySet[Forecast]:
    """Public trade history, newest first."""
    return Forecast.objects.filter(market=market).select_related("user").order_by("-created_at", "-pk")


def position_get(*, user: AbstractBaseUser, market: Market) -> Position | None:
    if not user.is_authenticated:
        return None
    return Position.objects.filter(user=user, market=market).first()


def position_close_probability(*, user: AbstractBaseUser, market: Market) -> float | None:
    """The price at which selling every share the user holds leaves the market (None: nothing held)."""
    position = position_get(user=user, market=market)
    if position is None or not (position.shares_yes or position.shares_no):
        return None
    return lmsr.price(float(market.q_yes - position.shares_yes), float(market.q_no - position.shares_no),
                      market.liquidity)


def account_balance(*, user: AbstractBaseUser) -> Decimal | None:
    if not user.is_authenticated:
        return None
    return Account.objects.filter(user=user).values_list("balance", flat=True).first()


@dataclass(frozen=True)
class PositionRow:
    market: Market
    shares_yes: Decimal
    shares_no: Decimal
    net_cost: Decimal
    updated_at: datetime
    shares_bins: list[float] | None = None  # numeric markets: shares per outcome
    payouts: list[dict] | None = None  # numeric markets: [{region, low, high, payout}]


def market_distribution(*, market: Market) -> list[float]:
    """A numeric market's current price per outcome (sums to 1)."""
    return [float(x) for x in lmsr.prices_n([float(x) for x in decimals_load(market.q_bins)], market.liquidity)]


def position_payouts(*, market: Market, shares: tuple[Decimal, ...] | list) -> list[dict]:
    """What a numeric position pays if the statistic lands in each outcome region (1 point per share)."""
    from market.services.forecasts import market_bins

    bins = market_bins(market)
    edges = [float(x) for x in bins.edges]
    lows = ([None] if bins.open_lower else []) + edges[:-1] + ([edges[-1]] if bins.open_upper else [])
    highs = ([edges[0]] if bins.open_lower else []) + edges[1:] + ([None] if bins.open_upper else [])
    return [{"region": label, "low": lo, "high": hi, "payout": float(x)}
            for label, lo, hi, x in zip(bins.labels(), lows, highs, shares, strict=True)]


def user_positions(*, user: AbstractBaseUser) -> list[PositionRow]:
    rows = Position.objects.filter(user=user).select_related("market").order_by("-updated_at")
    out = []
    for p in rows:
        shares = decimals_load(p.shares_bins) if p.market.kind == MarketKind.NUMERIC else None
        out.append(PositionRow(p.market, p.shares_yes, p.shares_no, p.net_cost, p.updated_at,
                               shares_bins=[float(x) for x in shares] if shares else None,
                               payouts=position_payouts(market=p.market, shares=shares) if shares else None))
    return out


def market_runs(*, market_id: int) -> QuerySet[ExperimentRun]:
    """Every run started for the market (resolution runs and their verifications), newest first."""
    return ExperimentRun.objects.filter(market_link__market_id=market_id).order_by("-pk")


def market_resolution_run(*, market_id: int) -> ExperimentRun | None:
    """The market's latest resolution run (the one that settles, or will settle, it)."""
    return market_runs(market_id=market_id).filter(purpose=ExperimentRun.Purpose.RESOLUTION).first()


def market_run_id(*, market_id: int) -> int | None:
    """``run_id`` of the markets API: the latest resolution run's id, or None before closing."""
    run = market_resolution_run(market_id=market_id)
    return run.pk if run else None


def _forecasts_of(market_id: int) -> tuple[list, list, list]:
    rows = list(
        Forecast.objects.filter(market_id=market_id, probability_after__isnull=False).order_by("created_at", "pk")
        .values_list("user_id", "created_at", "probability_after")
    )
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def community_probability(*, market_id: int) -> float | None:
    """Current community aggregate (recency-weighted median of each user's latest probability);
    None before the first forecast and for a numeric market (see ``community_distribution``)."""
    users, times, probs = _forecasts_of(market_id)
    if not probs:
        return None
    return community_aggregate(users, times, probs)


def community_series(*, market_id: int) -> list[dict]:
    """The community aggregate over time: ``[{"time": datetime, "probability": float, "n_forecasters": int}]``,
    one point per distinct forecast time (computed live from the forecasts)."""
    users, times, probs = _forecasts_of(market_id)
    if not probs:
        return []
    frame = community_series_math(users, times, probs)
    return [
        {"time": t, "probability": float(p), "n_forecasters": int(n)}
        for t, p, n in zip(frame["time"], frame["probability"], frame["n_forecasters"])
    ]


def community_distribution(*, market_id: int) -> list[float] | None:
    """A numeric market's community aggregate: the recency-weighted mixture of each forecaster's latest
    distribution (market.community); None before the first forecast."""
    from market.community import mixture_aggregate
    from market.models import Forecast

    rows = list(Forecast.objects.filter(market_id=market_id, prices_after__isnull=False)
                .order_by("created_at", "pk").values_list("user_id", "created_at", "prices_after"))
    if not rows:
        return None
    return [float(x) for x in mixture_aggregate([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])]
