"""A market's life: open (with its subsidy), close, resolve (payouts once), re-resolve after a verified
re-run (payouts reversed and paid again) or annul (refunds)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from market import lmsr
from market.distributions import Bins
from market.exceptions import MarketStateError
from market.models import Account, LedgerEntry, Market, MarketKind, MarketStatus, Outcome, Position
from market.models.fields import QUANTUM
from market.services.accounts import balances_set, house_account, ledger_post
from market.services.campaigns import campaign_spec_sealed, market_campaign_seal, market_campaign_start
from market.services.runs import market_run_enqueue
from market.signals import market_event_on_commit, market_settled
from market.specs import CriterionError, criterion_validate, statistic_name

ZERO = Decimal(0)
_TRADABLE = (MarketStatus.OPEN, MarketStatus.CLOSED, MarketStatus.RUNNING)


@dataclass(frozen=True)
class ResolveResult:
    market_id: int
    outcome: str
    paid: Decimal  # points paid to winners by this call (0 when it was already resolved)
    winners: int
    already_resolved: bool


@dataclass(frozen=True)
class ReresolveResult:
    market_id: int
    previous: str  # the outcome the market had
    outcome: str
    reversed: Decimal  # old payouts taken back from the old winners, capped by each balance
    covered: Decimal  # old payouts that could not be taken back; the house covers them
    paid: Decimal  # payouts to the new winners
    winners: int
    already_resolved: bool  # it already had this outcome: nothing moved


@dataclass(frozen=True)
class AnnulResult:
    market_id: int
    refunded: Decimal  # net costs returned to traders
    reversed: Decimal  # trading profits taken back (net cost < 0), capped by each balance
    written_off: Decimal  # profits that could not be taken back; the house absorbs them
    already_annulled: bool


def subsidy_amount(liquidity: float, n_outcomes: int = 2) -> Decimal:
    """b·ln n (b·ln 2 for a binary market) rounded up to the ledger unit, so the maker can always
    cover its worst case."""
    return Decimal(lmsr.max_loss(liquidity, n_outcomes)).quantize(QUANTUM, rounding=ROUND_CEILING)


def market_open(
    *,
    title: str,
    concept: str,
    question: str,
    spec: dict,
    statistic: str,
    comparator: str,
    threshold: float,
    close_time: datetime,
    liquidity: float | None = None,
    confidence: float = 0.95,
    created_by: AbstractBaseUser | None = None,
) -> Market:
    """Create an OPEN market with a frozen, hashed criterion, its maker account and the b·ln 2 subsidy.

    A survey-campaign spec (a market on the general factor) gets its design-seed commitment here; the
    seed itself is stored apart and hidden until the close (``market.services.campaigns``)."""
    sealed: tuple[int, str] | None = None
    if isinstance(spec, dict) and spec.get("kind") == "survey_campaign":
        spec, seed, salt = campaign_spec_sealed(spec)
        sealed = (seed, salt)
    criterion = criterion_validate(spec=spec, statistic=statistic, comparator=comparator, threshold=threshold)
    if criterion["spec"]["concept"] != concept:
        raise CriterionError("concept", f"the spec is for concept {criterion['spec']['concept']}, not {concept}.")
    b = float(settings.PATHMARKET["DEFAULT_LIQUIDITY"] if liquidity is None else liquidity)
    if not (math.isfinite(b) and b > 0):
        raise CriterionError("liquidity", "liquidity must be a positive number of points.")
    if not (0 < confidence < 1):
        raise CriterionError("confidence", "confidence must lie strictly between 0 and 1.")
    now = timezone.now()
    if close_time <= now:
        raise CriterionError("close_time", "close_time must be in the future.")
    with transaction.atomic():
        market = Market.objects.create(
            title=title, concept=concept, question=question, liquidity=b, confidence=confidence,
            status=MarketStatus.OPEN, opened_at=now, close_time=close_time, created_by=created_by,
            **criterion,
        )
        maker = Account.objects.create(kind=Account.Kind.MAKER, market=market)
        ledger_post(kind=LedgerEntry.Kind.SUBSIDY, debit=house_account(), credit=maker,
                    amount=subsidy_amount(b), market=market, memo="LMSR subsidy b·ln 2")
        if sealed is not None:
            market_campaign_seal(market=market, seed=sealed[0], salt=sealed[1])
    return market


def market_open_numeric(
    *,
    title: str,
    concept: str,
    question: str,
    spec: dict,
    statistic: str,
    range_lo: float,
    range_hi: float,
    n_bins: int = 50,
    open_lower: bool = False,
    open_upper: bool = False,
    close_time: datetime,
    liquidity: float | None = None,
    created_by: AbstractBaseUser | None = None,
) -> Market:
    """Create an OPEN numeric market: its range cut into ``n_bins`` bins (plus an overflow bin per open
    end), an LMSR over those outcomes at uniform prices, its maker account and the b·ln n subsidy."""
    sealed: tuple[int, str] | None = None
    if isinstance(spec, dict) and spec.get("kind") == "survey_campaign":
        # A numeric factor market resolves at the estimate of its `rows` rows: no CI to straddle, no extension.
        if spec.get("row_budget", spec.get("rows")) != spec.get("rows"):
            raise CriterionError("spec.row_budget", "a numeric market resolves at the factor estimate of its "
                                                    "rows, so row_budget must equal rows (or be left out).")
        spec, seed, salt = campaign_spec_sealed(spec)
        sealed = (seed, salt)
    criterion = criterion_validate(spec=spec, statistic=statistic, comparator=">=", threshold=0.0)
    if criterion["spec"]["concept"] != concept:
        raise CriterionError("concept", f"the spec is for concept {criterion['spec']['concept']}, not {concept}.")
    if sealed is None and statistic != statistic_name(concept):  # runs carry no criterion to name an alternate
        raise CriterionError("statistic", f"a numeric market settles on concept {concept}'s headline statistic "
                                          f"{statistic_name(concept)!r}; alternates resolve binary markets only.")
    try:
        bins = Bins(lo=float(range_lo), hi=float(range_hi), n=int(n_bins), open_lower=bool(open_lower),
                    open_upper=bool(open_upper))
    except (TypeError, ValueError) as exc:
        field = "n_bins" if "bins" in str(exc) else "range_lo"
        raise CriterionError(field, str(exc)) from None
    b = float(settings.PATHMARKET["DEFAULT_LIQUIDITY"] if liquidity is None else liquidity)
    if not (math.isfinite(b) and b > 0):
        raise CriterionError("liquidity", "liquidity must be a positive number of points.")
    now = timezone.now()
    if close_time <= now:
        raise CriterionError("close_time", "close_time must be in the future.")
    n = bins.n_outcomes
    with transaction.atomic():
        market = Market.objects.create(
            title=title, concept=concept, question=question, liquidity=b, kind=MarketKind.NUMERIC,
            status=MarketStatus.OPEN, opened_at=now, close_time=close_time, created_by=created_by,
            spec=criterion["spec"], spec_sha256=criterion["spec_sha256"], statistic=statistic,
            comparator="", threshold=None, range_lo=bins.lo, range_hi=bins.hi, n_bins=bins.n,
            open_lower=bins.open_lower, open_upper=bins.open_upper, q_bins=["0"] * n,
        )
        maker = Account.objects.create(kind=Account.Kind.MAKER, market=market)
        ledger_post(kind=LedgerEntry.Kind.SUBSIDY, debit=house_account(), credit=maker,
                    amount=subsidy_amount(b, n), market=market, memo=f"LMSR subsidy b·ln {n}")
        if sealed is not None:
            market_campaign_seal(market=market, seed=sealed[0], salt=sealed[1])
    return market


def _market_id(market: Market | int) -> int:
    return market.pk if isinstance(market, Market) else int(market)


def _locked(market: Market | int) -> Market:
    return Market.objects.select_for_update(of=("self",)).select_related("maker_account").get(pk=_market_id(market))


def market_close(*, market: Market | int) -> bool:
    """Stop forecasting and enqueue the resolution run. Returns False if the market was not open (idempotent)."""
    with transaction.atomic():
        locked = _locked(market)
        if locked.status != MarketStatus.OPEN:
            return False
        locked.status = MarketStatus.CLOSED
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "closed_at"])
        market_event_on_commit(market_id=locked.pk, event="closed")
        if locked.is_campaign:
            # The campaign (rows, cells) commits with the close; its units are sent on commit.
            link = market_campaign_start(market=locked)
            if link.error:
                market_annul(market=locked.pk, reason=f"The survey campaign cannot run: {link.error}")
                locked.refresh_from_db()
        else:
            # The run row commits together with the close; its Celery task is sent on commit.
            market_run_enqueue(market=locked)
    if isinstance(market, Market):
        market.status, market.closed_at = locked.status, locked.closed_at
    return True


def markets_close_due(*, now: datetime | None = None) -> list[int]:
    """Close every open market whose close_time has passed; returns their ids (the beat task calls this)."""
    now = now or timezone.now()
    due = list(Market.objects.filter(status=MarketStatus.OPEN, close_time__lte=now).values_list("pk", flat=True))
    return [pk for pk in due if market_close(market=pk)]


def _settle_maker(market: Market) -> None:
    """Send the maker's remainder back to the house (last: the house is always locked last)."""
    maker = Account.objects.get(pk=market.maker_account.pk)
    if maker.balance > 0:
        ledger_post(kind=LedgerEntry.Kind.SETTLEMENT, debit=maker, credit=house_account(),
                    amount=maker.balance, market=market, memo="maker remainder returned to the house")


def _credit_users(market: Market, kind: str, amounts: dict[int, Decimal], memo: str) -> None:
    """Pay user accounts (account id → points) from the maker: one entry each, one balance update."""
    amounts = {pk: amount for pk, amount in amounts.items() if amount > 0}
    if not amounts:
        return
    maker_id = market.maker_account.pk
    current = dict(
        Account.objects.select_for_update().filter(pk__in=[*amounts, maker_id]).order_by("pk")
        .values_list("pk", "balance")
    )
    LedgerEntry.objects.bulk_create(
        LedgerEntry(kind=kind, debit_account_id=maker_id, credit_account_id=pk, amount=amount, market=market,
                    memo=memo)
        for pk, amount in sorted(amounts.items())
    )
    new = {pk: current[pk] + amount for pk, amount in amounts.items()}
    new[maker_id] = current[maker_id] - sum(amounts.values(), ZERO)
    balances_set(new)


def _announce_settled(market_id: int) -> None:
    """Tell ``market_settled`` listeners (the evaluator schedules a score recomputation after commit)."""
    market_settled.send(sender=Market, market_id=market_id)


def _winning_shares(market: Market, outcome: str | int) -> dict[int, Decimal]:
    """Account id → shares of ``outcome`` (YES/NO, or a numeric market's outcome index) held, for every
    position holding some."""
    if market.kind == MarketKind.NUMERIC:
        index = int(outcome)
        rows = Position.objects.filter(market=market, shares_bins__isnull=False).annotate(
            account=F("user__account__pk")).values_list("account", "shares_bins")
        won = {account: Decimal(str(bins[index])) for account, bins in rows}
        return {account: shares for account, shares in won.items() if shares > 0}
    field = "shares_yes" if outcome == Outcome.YES else "shares_no"
    return {
        row["account"]: row[field]
        for row in Position.objects.filter(market=market, **{f"{field}__gt": 0})
        .annotate(account=F("user__account__pk"))
        .values("account", field)
    }


def _take_back(market: Market, owed: dict[int, Decimal], accounts: dict[int, Account], maker: Account, *,
               kind: str, memo: str) -> tuple[Decimal, Decimal]:
    """Move what each account owes (account id → points) to the maker, capped by its balance; returns
    (taken, what could not be taken). ``accounts`` are already locked."""
    taken = short = ZERO
    for pk, amount in sorted(owed.items()):
        take = min(amount, accounts[pk].balance)
        if take > 0:
            ledger_post(kind=kind, debit=accounts[pk], credit=maker, amount=take, market=market, memo=memo)
        taken += take
        short += amount - take
    return taken, short


def market_resolve(*, market: Market | int, outcome: str, note: str = "") -> ResolveResult:
    """Resolve YES or NO: pay 1 point per winning share exactly once, settle the maker, announce it
    (``market_settled``: scores are recomputed after the commit).

    Calling it again with the same outcome pays nothing and reports ``already_resolved``; a different
    outcome, or an annulled market, raises MarketStateError.
    """
    outcome = str(outcome).lower()
    if outcome not in Outcome.values:
        raise ValueError(f"outcome must be 'yes' or 'no', got {outcome!r}")
    with transaction.atomic():
        locked = _locked(market)  # the status check below is race-free because the row is locked
        if locked.status == MarketStatus.RESOLVED:
            if locked.outcome != outcome:
                raise MarketStateError(f"Market #{locked.pk} is already resolved {locked.outcome.upper()}.")
            return ResolveResult(locked.pk, outcome, ZERO, 0, already_resolved=True)
        if locked.status not in _TRADABLE:
            raise MarketStateError(f"Market #{locked.pk} is {locked.status} and cannot be resolved.")
        winners = _winning_shares(locked, outcome)
        _credit_users(locked, LedgerEntry.Kind.PAYOUT, winners, f"{outcome.upper()} pays 1 point per share")
        now = timezone.now()
        locked.status, locked.outcome, locked.resolved_at = MarketStatus.RESOLVED, outcome, now
        locked.closed_at = locked.closed_at or now
        locked.resolution_note = note
        locked.save(update_fields=["status", "outcome", "resolved_at", "closed_at", "resolution_note"])
        _settle_maker(locked)
        _announce_settled(locked.pk)
        market_event_on_commit(market_id=locked.pk, event="resolved")
    paid = sum(winners.values(), ZERO)
    return ResolveResult(locked.pk, outcome, paid, len(winners), already_resolved=False)


def market_resolve_numeric(*, market: Market | int, value: float, note: str = "") -> ResolveResult:
    """Resolve a numeric market at the run's statistic ``value``: the outcome bin holding it pays 1 point
    per share, exactly once; the maker is settled and scores recomputed. Calling it again with a value in
    the same bin pays nothing (``already_resolved``); a value in another bin raises MarketStateError
    (use ``market_reresolve_numeric``)."""
    with transaction.atomic():
        locked = _locked(market)
        if locked.kind != MarketKind.NUMERIC:
            raise MarketStateError(f"Market #{locked.pk} is a binary market; resolve it YES or NO.")
        from market.services.forecasts import market_bins

        index = market_bins(locked).outcome_of(float(value))
        if locked.status == MarketStatus.RESOLVED:
            if locked.outcome_bin != index:
                raise MarketStateError(f"Market #{locked.pk} is already resolved in outcome {locked.outcome_bin}.")
            return ResolveResult(locked.pk, str(index), ZERO, 0, already_resolved=True)
        if locked.status not in _TRADABLE:
            raise MarketStateError(f"Market #{locked.pk} is {locked.status} and cannot be resolved.")
        winners = _winning_shares(locked, index)
        label = market_bins(locked).labels()[index]
        _credit_users(locked, LedgerEntry.Kind.PAYOUT, winners, f"outcome {label} pays 1 point per share")
        now = timezone.now()
        locked.status, locked.outcome_bin, locked.outcome_value, locked.resolved_at = (
            MarketStatus.RESOLVED, index, float(value), now)
        locked.closed_at = locked.closed_at or now
        locked.resolution_note = note
        locked.save(update_fields=["status", "outcome_bin", "outcome_value", "resolved_at", "closed_at",
                                   "resolution_note"])
        _settle_maker(locked)
        _announce_settled(locked.pk)
    return ResolveResult(locked.pk, str(index), sum(winners.values(), ZERO), len(winners), already_resolved=False)


def market_reresolve(*, market: Market | int, outcome: str = "", reason: str,
                     value: float | None = None) -> ReresolveResult:
    """Staff correction of a RESOLVED market's outcome (after a verified re-run: docs/markets.md).

    Every old winner gives its payout back as far as its balance allows (a REVERSAL entry into the
    maker); the house covers what could not be taken back, as in an annulment, and funds the rest of
    the new payouts; the new winners are paid 1 point per share; the maker is settled again, the
    correction is appended to the resolution note and the change is announced (``market_settled``).
    Calling it again with the same outcome moves nothing (``already_resolved``). A numeric market takes
    the verified statistic ``value`` instead of ``outcome``; its outcomes are bin indices (as strings in
    the result).
    """
    if value is None:
        outcome = str(outcome).lower()
        if outcome not in Outcome.values:
            raise ValueError(f"outcome must be 'yes' or 'no', got {outcome!r}")
    if not reason or not reason.strip():
        raise ValueError("a re-resolution needs a reason")
    with transaction.atomic():
        locked = _locked(market)
        if locked.status != MarketStatus.RESOLVED:
            raise MarketStateError(f"Market #{locked.pk} is {locked.status}; only a resolved market can be re-resolved.")
        numeric = locked.kind == MarketKind.NUMERIC
        if numeric != (value is not None):
            raise ValueError("a numeric market is re-resolved with a value, a binary one with YES or NO")
        if numeric:
            from market.services.forecasts import market_bins

            labels = market_bins(locked).labels()
            previous, outcome = str(locked.outcome_bin), str(market_bins(locked).outcome_of(float(value)))
            names = {previous: labels[int(previous)], outcome: labels[int(outcome)]}
        else:
            previous = locked.outcome
            names = {previous: previous.upper(), outcome: outcome.upper()}
        if previous == outcome:
            if numeric:
                locked.outcome_value = float(value)
                locked.save(update_fields=["outcome_value"])
            return ReresolveResult(locked.pk, previous, outcome, ZERO, ZERO, ZERO, 0, already_resolved=True)
        old_winners, new_winners = _winning_shares(locked, previous), _winning_shares(locked, outcome)
        maker_id = locked.maker_account.pk
        # Every account this moves, in ascending id order, before the house (always locked last).
        involved = [*old_winners, *new_winners, maker_id]
        accounts = {a.pk: a for a in Account.objects.select_for_update().filter(pk__in=involved).order_by("pk")}
        maker, house = accounts[maker_id], house_account()
        new, old = names[outcome], names[previous]
        taken, covered = _take_back(locked, old_winners, accounts, maker, kind=LedgerEntry.Kind.REVERSAL,
                                    memo=f"re-resolved {new}: {old} payout taken back")
        if covered > 0:
            ledger_post(kind=LedgerEntry.Kind.REVERSAL, debit=house, credit=maker, amount=covered, market=locked,
                        memo=f"re-resolved {new}: the house covers {old} payouts that could not be taken back")
        shortfall = sum(new_winners.values(), ZERO) - maker.balance
        if shortfall > 0:
            ledger_post(kind=LedgerEntry.Kind.SETTLEMENT, debit=house, credit=maker, amount=shortfall, market=locked,
                        memo=f"re-resolved {new}: the house funds the new payouts")
        _credit_users(locked, LedgerEntry.Kind.PAYOUT, new_winners, f"{new} pays 1 point per share (re-resolved)")
        if numeric:
            locked.outcome_bin, locked.outcome_value = int(outcome), float(value)
        else:
            locked.outcome = outcome
        locked.resolved_at = timezone.now()
        correction = f"Re-resolved {new} (was {old}): {reason.strip()}"
        locked.resolution_note = f"{locked.resolution_note}\n{correction}".strip()
        locked.save(update_fields=["outcome", "outcome_bin", "outcome_value", "resolved_at", "resolution_note"])
        _settle_maker(locked)
        _announce_settled(locked.pk)
        market_event_on_commit(market_id=locked.pk, event="reresolved")
    return ReresolveResult(locked.pk, previous, outcome, taken, covered, sum(new_winners.values(), ZERO),
                           len(new_winners), already_resolved=False)


def market_annul(*, market: Market | int, reason: str) -> AnnulResult:
    """Annul: return each trader's net cost (taking back trading profits where the balance allows),
    settle the maker and announce it (``market_settled``). Idempotent; a resolved market cannot be annulled."""
    if not reason or not reason.strip():
        raise ValueError("an annulment needs a reason")
    with transaction.atomic():
        locked = _locked(market)
        if locked.status == MarketStatus.ANNULLED:
            return AnnulResult(locked.pk, ZERO, ZERO, ZERO, already_annulled=True)
        if locked.status not in _TRADABLE:
            raise MarketStateError(f"Market #{locked.pk} is {locked.status} and cannot be annulled.")
        rows = list(
            Position.objects.filter(market=locked).exclude(net_cost=0)
            .annotate(account=F("user__account__pk")).values("account", "net_cost")
        )
        maker_id = locked.maker_account.pk
        accounts = {
            a.pk: a
            for a in Account.objects.select_for_update()
            .filter(pk__in=[*(r["account"] for r in rows), maker_id]).order_by("pk")
        }
        maker, house = accounts[maker_id], house_account()
        # Take back profits first (user → maker), so the maker can fund the refunds.
        profits = {r["account"]: -r["net_cost"] for r in rows if r["net_cost"] < 0}
        reversed_total, written_off = _take_back(locked, profits, accounts, maker, kind=LedgerEntry.Kind.REFUND,
                                                 memo="annulled: trading profit reversed")
        refunds = {r["account"]: r["net_cost"] for r in rows if r["net_cost"] > 0}
        if written_off > 0:  # the maker lacks what could not be taken back; the house covers it
            ledger_post(kind=LedgerEntry.Kind.SETTLEMENT, debit=house, credit=maker, amount=written_off,
                        market=locked, memo="annulled: house covers profits that could not be reversed")
        _credit_users(locked, LedgerEntry.Kind.REFUND, refunds, "annulled: net cost refunded")
        now = timezone.now()
        locked.status, locked.outcome, locked.resolved_at = MarketStatus.ANNULLED, None, now
        locked.closed_at = locked.closed_at or now
        locked.resolution_note = reason
        locked.save(update_fields=["status", "outcome", "resolved_at", "closed_at", "resolution_note"])
        _settle_maker(locked)
        _announce_settled(locked.pk)
        market_event_on_commit(market_id=locked.pk, event="annulled")
    return AnnulResult(locked.pk, sum(refunds.values(), ZERO), reversed_total, written_off, already_annulled=False)
