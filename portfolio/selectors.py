"""Reads behind ``/me/``. Every figure comes from the ledger or the positions, never from a cache of its own.

Profit and loss on a market is what the ledger moved for it: every credit to the user's account that
names the market (sales, payouts, refunds) minus every debit (purchases, payout reversals).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, Sum

from market.models import Account, LedgerEntry, Market, MarketStatus, Position
from proposals.models import Proposal

ZERO = Decimal(0)
_SETTLED = (MarketStatus.RESOLVED, MarketStatus.ANNULLED)


@dataclass(frozen=True)
class OpenPosition:
    market: Market
    shares_yes: Decimal
    shares_no: Decimal
    net_cost: Decimal  # points paid for buys minus points received for sales
    value: Decimal  # at the market price: shares_yes·p + shares_no·(1 − p)
    payout_if_yes: Decimal
    payout_if_no: Decimal

    @property
    def unrealised(self) -> Decimal:
        return self.value - self.net_cost


@dataclass(frozen=True)
class SettledPosition:
    market: Market
    shares_yes: Decimal
    shares_no: Decimal
    net_cost: Decimal
    received: Decimal  # payouts and refunds, less reversals
    profit: Decimal  # the ledger's net movement for this market


@dataclass(frozen=True)
class Portfolio:
    balance: Decimal
    open: list[OpenPosition]
    settled: list[SettledPosition]
    proposals: list[Proposal]
    balance_series: list[tuple[datetime, Decimal]]  # the balance after each ledger entry, oldest first

    @property
    def realised_profit(self) -> Decimal:
        return sum((p.profit for p in self.settled), ZERO)

    @property
    def open_value(self) -> Decimal:
        return sum((p.value for p in self.open), ZERO)


def market_ledger_net(*, account: Account) -> dict[int, tuple[Decimal, Decimal]]:
    """market id → (credits to the account, debits from it) over the ledger entries naming the market."""
    credits = dict(
        LedgerEntry.objects.filter(credit_account=account, market__isnull=False)
        .order_by()
        .values("market")
        .annotate(s=Sum("amount"))
        .values_list("market", "s")
    )
    debits = dict(
        LedgerEntry.objects.filter(debit_account=account, market__isnull=False)
        .order_by()
        .values("market")
        .annotate(s=Sum("amount"))
        .values_list("market", "s")
    )
    return {m: (credits.get(m, ZERO), debits.get(m, ZERO)) for m in set(credits) | set(debits)}


def balance_series(*, account: Account) -> list[tuple[datetime, Decimal]]:
    rows = (
        LedgerEntry.objects.filter(Q(credit_account=account) | Q(debit_account=account))
        .order_by("created_at", "pk")
        .values_list("created_at", "amount", "credit_account_id")
    )
    series, total = [], ZERO
    for when, amount, credit_id in rows:
        total += amount if credit_id == account.pk else -amount
        series.append((when, total))
    return series


def portfolio_get(*, user: AbstractBaseUser) -> Portfolio:
    account = Account.objects.filter(user=user).first()
    if account is None:
        return Portfolio(ZERO, [], [], list(Proposal.objects.filter(proposer=user)), [])
    net = market_ledger_net(account=account)
    open_rows, settled_rows = [], []
    for pos in (
        Position.objects.filter(user=user).select_related("market").order_by("market__close_time", "pk")
    ):
        market = pos.market
        if market.status in _SETTLED:
            credit, debit = net.get(market.pk, (ZERO, ZERO))
            profit = credit - debit
            # Trades net to −net_cost in the ledger, so the rest of the movement is what settlement paid.
            settled_rows.append(
                SettledPosition(
                    market, pos.shares_yes, pos.shares_no, pos.net_cost, profit + pos.net_cost, profit
                )
            )
        elif pos.shares_yes or pos.shares_no or pos.net_cost:
            p = Decimal(str(market.probability))
            value = (pos.shares_yes * p + pos.shares_no * (1 - p)).quantize(Decimal("0.00000001"))
            open_rows.append(
                OpenPosition(
                    market, pos.shares_yes, pos.shares_no, pos.net_cost, value, pos.shares_yes, pos.shares_no
                )
            )
    settled_rows.sort(key=lambda r: r.market.resolved_at, reverse=True)
    return Portfolio(
        balance=account.balance,
        open=open_rows,
        settled=settled_rows,
        proposals=list(Proposal.objects.filter(proposer=user).select_related("market")),
        balance_series=balance_series(account=account),
    )
