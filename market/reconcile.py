"""Proof that the books balance: ``manage.py reconcile`` prints this report and fails on any problem.

Checks
------
1. every account's cached balance equals its ledger credits minus debits;
2. the balances of all accounts sum to zero (points are only ever moved, never created);
3. no account other than the house is below zero;
4. per market: q equals the sum of the positions and of the forecasts' deltas (per outcome: YES/NO, or
   each bin of a numeric market); the trades in the ledger equal the forecasts' costs and the
   positions' net costs; the subsidy b·ln n (n = 2 for a binary market) was booked once;
5. per market, the maker's P&L stays within its bound: while trading, the maker's cash covers the worst
   outcome with a loss of at most b·ln n; once resolved, it paid exactly the winning shares (net of the
   payouts a re-resolution took back) and lost at most b·ln n; once resolved or annulled, its account
   is settled to zero.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, Sum

from market import lmsr
from market.models import Account, Forecast, LedgerEntry, Market, MarketKind, MarketStatus, Position
from market.models.fields import QUANTUM
from market.services.trade_write import decimals_load

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
            return f"OK: {head}; balances equal ledger sums, the ledger nets to zero, makers within b·ln n."
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
    numeric = [m.pk for m in markets if m.kind == MarketKind.NUMERIC]
    bins_positions = _bin_sums(Position.objects.filter(market__in=numeric), "shares_bins")
    bins_forecasts = _bin_sums(Forecast.objects.filter(market__in=numeric), "deltas")
    for m in markets:
        if m.kind == MarketKind.NUMERIC:  # per-bin sums, in the same shape as the binary (YES, NO) pair
            n = m.n_outcomes
            pos = positions.get(m.pk) or {"c": ZERO}
            fc = forecasts.get(m.pk) or {"c": ZERO}
            positions[m.pk] = {"q": bins_positions.get(m.pk, (ZERO,) * n), "c": pos["c"] or ZERO}
            forecasts[m.pk] = {"q": bins_forecasts.get(m.pk, (ZERO,) * n), "c": fc["c"] or ZERO}
        _check_market(m, problems, makers.get(m.pk), positions.get(m.pk), forecasts.get(m.pk),
                      trades_in.get(m.pk, ZERO) - trades_out.get(m.pk, ZERO), subsidies.get(m.pk, ZERO),
                      subsidy_count.get(m.pk, 0), payouts.get(m.pk, ZERO))
    return report


def _bin_sums(rows: object, field: str) -> dict[int, tuple[Decimal, ...]]:
    """Market id → the per-outcome sums of a JSON list of decimals (positions' shares, forecasts' deltas)."""
    out: dict[int, tuple[Decimal, ...]] = {}
    for market_id, values in rows.exclude(**{f"{field}__isnull": True}).values_list("market", field):
        vec = decimals_load(values)
        have = out.get(market_id)
        out[market_id] = vec if have is None else tuple(a + b for a, b in zip(have, vec, strict=True))
    return out


def _check_market(m: Market, problems: list[str], maker: Account | None, pos: dict | None, fc: dict | None,
                  trades: Decimal, subsidy: Decimal, n_subsidies: int, paid: Decimal) -> None:
    name = f"market #{m.pk}"
    if maker is None:
        problems.append(f"{name} has no maker account")
        return
    numeric = m.kind == MarketKind.NUMERIC
    q = decimals_load(m.q_bins) if numeric else (m.q_yes, m.q_no)
    if not numeric:
        pos = {"q": (pos["y"], pos["n"]), "c": pos["c"]} if pos else {"q": (ZERO, ZERO), "c": ZERO}
        fc = {"q": (fc["y"], fc["n"]), "c": fc["c"]} if fc else {"q": (ZERO, ZERO), "c": ZERO}
    if tuple(q) != tuple(pos["q"]):
        problems.append(f"{name}: q = {_fmt(q)} but positions sum to {_fmt(pos['q'])}")
    if tuple(q) != tuple(fc["q"]):
        problems.append(f"{name}: q = {_fmt(q)} but forecasts sum to {_fmt(fc['q'])}")
    # Sums of 8-place decimals are 8-place decimals; quantizing only removes SQLite's float summation noise.
    fc_cost, pos_cost = _q(fc["c"]), _q(pos["c"])
    if not (_q(trades) == fc_cost == pos_cost):
        problems.append(f"{name}: trades in the ledger net {trades}, forecasts cost {fc['c']}, positions {pos['c']}")
    n = len(q)
    bound = Decimal(lmsr.max_loss(m.liquidity, n))
    if n_subsidies != 1 or subsidy < bound - TOLERANCE:
        problems.append(f"{name}: subsidy booked {n_subsidies} time(s), {subsidy} points (b·ln {n} = {bound:.8f})")
    b = m.liquidity
    collected_needed = Decimal(lmsr.cost_n([float(x) for x in q], b) - lmsr.cost_n([0.0] * n, b))
    if trades < collected_needed - TOLERANCE:
        problems.append(f"{name}: the maker collected {trades} but the LMSR cost of q is {collected_needed:.8f}")
    if m.status in (MarketStatus.OPEN, MarketStatus.CLOSED, MarketStatus.RUNNING):
        worst = max(q) - trades
        if worst > bound + TOLERANCE:
            problems.append(f"{name}: the maker's worst-case loss {worst} exceeds b·ln {n} = {bound:.8f}")
        if maker.balance != subsidy + trades:
            problems.append(f"{name}: maker balance {maker.balance} ≠ subsidy {subsidy} + trades {trades}")
    elif m.status == MarketStatus.RESOLVED:
        outcome = m.outcome_bin if numeric else m.outcome
        winning = q[m.outcome_bin] if numeric else (m.q_yes if m.outcome == "yes" else m.q_no)
        if paid != winning:
            problems.append(f"{name}: resolved {outcome} with {winning} winning shares but paid {paid}")
        if paid - trades > bound + TOLERANCE:
            problems.append(f"{name}: the maker lost {paid - trades}, more than b·ln {n} = {bound:.8f}")
    if m.status in (MarketStatus.RESOLVED, MarketStatus.ANNULLED) and maker.balance != 0:
        problems.append(f"{name} is {m.status} but its maker still holds {maker.balance}")


def _q(value: Decimal | None) -> Decimal:
    return (value or ZERO).quantize(QUANTUM)


def _fmt(values: tuple[Decimal, ...]) -> str:
    shown = ", ".join(str(v) for v in values[:6])
    return f"({shown}{', …' if len(values) > 6 else ''})"
