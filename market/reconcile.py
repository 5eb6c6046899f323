"""Proof that the books balance: ``manage.py reconcile`` prints this report and fails on any problem.

Checks
------
1. every account's cached balance equals its ledger credits minus debits;
2. the balances of all accounts sum to zero (points are only ever moved, never created);
3. no account other than the house is below zero;
4. per market: q equals the sum of the positions and of the forecasts' deltas; the trades in the ledger
   equal the forecasts' costs and the positions' net costs; the subsidy b·ln 2 was booked once;
5. per market, the maker's P&L stays within its bound: while trading, the maker's cash covers the worst
   outcome with a loss of at most b·ln 2; once resolved, it paid exactly the winning shares (net of the
   payouts a re-resolution took back) and lost at most b·ln 2; once resolved or annulled, its account
   is settled to zero.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, Sum

from market import lmsr
from market.models import Account, Forecast, LedgerEntry, Market, MarketStatus, Position

ZERO = Decimal(0)
# Rounding slack per market: costs are rounded up to 1e-8 per trade, float error is far below that.
TOLERANCE = Decimal("1e-6")


@dataclass
class ReconcileReport:
    accounts: int = 0
    entries: int = 0
    markets: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        head = f"{self.accounts} accounts, {self.entries} ledger entries, {self.markets} markets"
        if self.ok:
            return f"OK: {head}; balances equal ledger sums, the ledger nets to zero, makers within b·ln 2."
        lines = [f"FAILED: {len(self.problems)} problem(s) in {head}:"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def _sums(by: str) -> dict[int, Decimal]:
    return {row[by]: row["total"] for row in LedgerEntry.objects.values(by).annotate(total=Sum("amount"))}


def _market_sums(kind: str, *, into_maker: bool) -> dict[int, Decimal]:
    side = "credit_account__kind" if into_maker else "debit_account__kind"
    rows = (
        LedgerEntry.objects.filter(kind=kind, **{side: Account.Kind.MAKER})
        .values("market").annotate(total=Sum("amount"))
    )
    return {row["market"]: row["total"] for row in rows}


def ledger_reconcile() -> ReconcileReport:
    report = ReconcileReport(entries=LedgerEntry.objects.count())
    problems = report.problems
    credits, debits = _sums("credit_account"), _sums("debit_account")

    total = ZERO
    accounts = list(Account.objects.all())
    report.accounts = len(accounts)
    for account in accounts:
        expected = credits.get(account.pk, ZERO) - debits.get(account.pk, ZERO)
        if account.balance != expected:
            problems.append(f"account {account} has balance {account.balance} but its ledger sums to {expected}")
        if account.balance < 0 and account.kind != Account.Kind.HOUSE:
            problems.append(f"account {account} is below zero: {account.balance}")
        total += account.balance
    if total != 0:
        problems.append(f"the balances of all accounts sum to {total}, not 0")

    trades_in = _market_sums(LedgerEntry.Kind.TRADE, into_maker=True)
    trades_out = _market_sums(LedgerEntry.Kind.TRADE, into_maker=False)
    subsidies = _market_sums(LedgerEntry.Kind.SUBSIDY, into_maker=True)
    payouts = _market_sums(LedgerEntry.Kind.PAYOUT, into_maker=False)
    for market_id, taken_back in _market_sums(LedgerEntry.Kind.REVERSAL, into_maker=True).items():
        payouts[market_id] = payouts.get(market_id, ZERO) - taken_back  # a re-resolution's reversals
    subsidy_count = dict(
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.SUBSIDY).values_list("market").annotate(n=Count("id"))
    )
    positions = {
        row["market"]: row
        for row in Position.objects.values("market").annotate(y=Sum("shares_yes"), n=Sum("shares_no"), c=Sum("net_cost"))
    }
    forecasts = {
        row["market"]: row
        for row in Forecast.objects.values("market").annotate(y=Sum("delta_yes"), n=Sum("delta_no"), c=Sum("cost"))
    }
    makers = {a.market_id: a for a in accounts if a.kind == Account.Kind.MAKER}
    orphans = Forecast.objects.filter(~Q(cost=0)).exclude(ledger_entries__kind=LedgerEntry.Kind.TRADE).count()
    if orphans:
        problems.append(f"{orphans} forecast(s) with a non-zero cost have no trade entry in the ledger")

    markets = list(Market.objects.all())
    report.markets = len(markets)
    for m in markets:
        _check_market(m, problems, makers.get(m.pk), positions.get(m.pk), forecasts.get(m.pk),
                      trades_in.get(m.pk, ZERO) - trades_out.get(m.pk, ZERO), subsidies.get(m.pk, ZERO),
                      subsidy_count.get(m.pk, 0), payouts.get(m.pk, ZERO))
    return report


def _check_market(m: Market, problems: list[str], maker: Account | None, pos: dict | None, fc: dict | None,
                  trades: Decimal, subsidy: Decimal, n_subsidies: int, paid: Decimal) -> None:
    name = f"market #{m.pk}"
    pos = pos or {"y": ZERO, "n": ZERO, "c": ZERO}
    fc = fc or {"y": ZERO, "n": ZERO, "c": ZERO}
    if maker is None:
        problems.append(f"{name} has no maker account")
        return
    if (m.q_yes, m.q_no) != (pos["y"], pos["n"]):
        problems.append(f"{name}: q = ({m.q_yes}, {m.q_no}) but positions sum to ({pos['y']}, {pos['n']})")
    if (m.q_yes, m.q_no) != (fc["y"], fc["n"]):
        problems.append(f"{name}: q = ({m.q_yes}, {m.q_no}) but forecasts sum to ({fc['y']}, {fc['n']})")
    if not (trades == fc["c"] == pos["c"]):
        problems.append(f"{name}: trades in the ledger net {trades}, forecasts cost {fc['c']}, positions {pos['c']}")
    bound = Decimal(lmsr.max_loss(m.liquidity))
    if n_subsidies != 1 or subsidy < bound - TOLERANCE:
        problems.append(f"{name}: subsidy booked {n_subsidies} time(s), {subsidy} points (b·ln 2 = {bound:.8f})")
    q_yes, q_no, b = float(m.q_yes), float(m.q_no), m.liquidity
    collected_needed = Decimal(lmsr.cost(q_yes, q_no, b) - lmsr.cost(0.0, 0.0, b))
    if trades < collected_needed - TOLERANCE:
        problems.append(f"{name}: the maker collected {trades} but the LMSR cost of q is {collected_needed:.8f}")
    if m.status in (MarketStatus.OPEN, MarketStatus.CLOSED, MarketStatus.RUNNING):
        worst = max(m.q_yes, m.q_no) - trades
        if worst > bound + TOLERANCE:
            problems.append(f"{name}: the maker's worst-case loss {worst} exceeds b·ln 2 = {bound:.8f}")
        if maker.balance != subsidy + trades:
            problems.append(f"{name}: maker balance {maker.balance} ≠ subsidy {subsidy} + trades {trades}")
    elif m.status == MarketStatus.RESOLVED:
        winning = m.q_yes if m.outcome == "yes" else m.q_no
        if paid != winning:
            problems.append(f"{name}: resolved {m.outcome} with {winning} winning shares but paid {paid}")
        if paid - trades > bound + TOLERANCE:
            problems.append(f"{name}: the maker lost {paid - trades}, more than b·ln 2 = {bound:.8f}")
    if m.status in (MarketStatus.RESOLVED, MarketStatus.ANNULLED) and maker.balance != 0:
        problems.append(f"{name} is {m.status} but its maker still holds {maker.balance}")
