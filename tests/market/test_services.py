"""Market services against a real database: grants, trades, lifecycle, payouts, refunds."""
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from market.exceptions import InsufficientBalance, MarketNotOpen, MarketStateError, ProbabilityInvalid
from market.models import Account, Forecast, LedgerEntry, Market, Position
from market.reconcile import ledger_reconcile
from market.services import (
    account_for,
    forecast_place,
    market_annul,
    market_close,
    market_reresolve,
    market_resolve,
    markets_close_due,
)
from market.signals import market_settled
from market.specs import CriterionError
from tests.market.factories import MarketFactory

pytestmark = pytest.mark.django_db


@contextmanager
def settled_announcements() -> Iterator[list[int]]:
    """The market ids sent on ``market_settled`` while the block runs (listeners score after commit)."""
    announced: list[int] = []

    def listen(sender, *, market_id: int, **kwargs) -> None:
        announced.append(market_id)

    market_settled.connect(listen, dispatch_uid="test.settled_announcements")
    try:
        yield announced
    finally:
        market_settled.disconnect(dispatch_uid="test.settled_announcements")


def balance(user) -> Decimal:
    return Account.objects.get(user=user).balance


def test_a_new_account_receives_the_signup_grant_as_a_ledger_entry(user):
    assert balance(user) == Decimal(1000)
    grant = LedgerEntry.objects.get(credit_account__user=user)
    assert grant.kind == "grant" and grant.amount == 1000 and grant.debit_account.kind == "house"
    account_for(user=user)  # idempotent: no second grant
    assert LedgerEntry.objects.filter(credit_account__user=user).count() == 1


def test_users_created_any_other_way_get_their_account_lazily(django_user_model):
    someone = django_user_model.objects.create_user("outsider", password="x")
    assert not Account.objects.filter(user=someone).exists()
    assert account_for(user=someone).balance == 1000


def test_opening_a_market_books_the_subsidy_b_ln2_from_the_house(market):
    subsidy = LedgerEntry.objects.get(market=market, kind="subsidy")
    assert subsidy.debit_account.kind == "house" and subsidy.credit_account == market.maker_account
    assert float(subsidy.amount) == pytest.approx(100 * math.log(2), abs=1e-8)
    assert subsidy.amount >= Decimal(100 * math.log(2))  # rounded up: the maker can always pay


def test_a_forecast_moves_the_price_and_charges_the_lmsr_cost(user, market):
    result = forecast_place(user=user, market=market, probability=0.7)
    assert result.probability_before == 0.5
    assert result.probability_after == pytest.approx(0.7, abs=1e-9)
    assert float(result.cost) == pytest.approx(51.0826, abs=1e-4)
    assert result.balance == Decimal(1000) - result.cost == balance(user)
    market.refresh_from_db()
    assert market.q_yes == result.delta_yes and market.probability == pytest.approx(0.7)
    entry = LedgerEntry.objects.get(kind="trade")
    assert entry.amount == result.cost and entry.forecast_id == result.forecast_id
    assert entry.credit_account == market.maker_account


def test_moving_against_your_own_position_sells_those_shares_first(user, market):
    bought = forecast_place(user=user, market=market, probability=0.8)
    back = forecast_place(user=user, market=market, probability=0.6)
    assert back.delta_yes < 0 and back.delta_no == 0  # sold YES, bought no NO
    assert back.cost < 0  # a sale pays the trader
    below = forecast_place(user=user, market=market, probability=0.3)
    assert below.delta_yes == -(bought.delta_yes + back.delta_yes)  # sold every remaining YES share
    assert below.delta_no > 0 and below.shares_yes == 0
    position = Position.objects.get(user=user, market=market)
    assert position.shares_yes == 0 and position.shares_no == below.delta_no
    assert ledger_reconcile().ok


def test_buying_then_selling_back_returns_the_balance(user, market):
    forecast_place(user=user, market=market, probability=0.9)
    forecast_place(user=user, market=market, probability=0.5)
    assert abs(balance(user) - 1000) <= Decimal("1e-7")  # only the rounding of two trades


def test_an_unaffordable_forecast_is_refused_with_the_furthest_affordable_price(user):
    deep = MarketFactory(liquidity=1000.0)  # 0.5 → 0.99 would cost 1000·ln 50 ≈ 3912 points
    before = (balance(user), Forecast.objects.count(), LedgerEntry.objects.count())
    with pytest.raises(InsufficientBalance) as info:
        forecast_place(user=user, market=deep, probability=0.99)
    # With 1000 points from 0.5: 1 − 0.5·exp(−1000/1000) ≈ 0.8160, rounded toward the current price.
    assert info.value.furthest_probability == pytest.approx(0.8160, abs=1e-4)
    assert "The furthest you can afford is 0.8160" in info.value.message
    assert "costs 3912.02 points but your balance is 1000.00" in info.value.message
    assert (balance(user), Forecast.objects.count(), LedgerEntry.objects.count()) == before  # nothing changed
    forecast_place(user=user, market=deep, probability=info.value.furthest_probability)  # affordable
    assert Decimal(0) <= balance(user) < Decimal(1)


def test_the_furthest_affordable_price_counts_the_sale_of_held_shares(user, other_user):
    deep = MarketFactory(liquidity=1000.0)
    forecast_place(user=user, market=deep, probability=0.3)  # holds NO shares
    forecast_place(user=other_user, market=deep, probability=0.2)
    with pytest.raises(InsufficientBalance) as info:
        forecast_place(user=user, market=deep, probability=0.99)
    furthest = info.value.furthest_probability
    assert furthest > 0.3  # selling the NO shares alone already moves the price past 0.3
    result = forecast_place(user=user, market=deep, probability=furthest)
    assert result.shares_no == 0 and result.balance >= 0


def test_a_trader_without_points_is_told_they_cannot_move_the_price(user, market):
    deep = MarketFactory(liquidity=1000.0)
    forecast_place(user=user, market=deep, probability=0.8160)  # leaves less than one point
    with pytest.raises(InsufficientBalance) as info:
        forecast_place(user=user, market=market, probability=0.99)
    forecast_place(user=user, market=market, probability=info.value.furthest_probability)
    assert balance(user) < Decimal("0.01")
    with pytest.raises(InsufficientBalance, match="cannot afford to move"):
        forecast_place(user=user, market=deep, probability=0.99)


@pytest.mark.parametrize("bad", [0.0, 0.005, 0.995, 1.0, -1, float("nan"), float("inf"), "0.5", None, True, [0.5]])
def test_probabilities_outside_the_accepted_range_are_refused(user, market, bad):
    with pytest.raises(ProbabilityInvalid, match="probability"):
        forecast_place(user=user, market=market, probability=bad)
    assert not Forecast.objects.exists()


@pytest.mark.parametrize("edge", [0.01, 0.99])
def test_the_range_ends_are_accepted(user, market, edge):
    assert forecast_place(user=user, market=market, probability=edge).probability_after == pytest.approx(edge)


def test_a_closed_market_refuses_forecasts(user, market):
    assert market_close(market=market) is True
    assert market_close(market=market) is False  # idempotent
    with pytest.raises(MarketNotOpen, match="closed"):
        forecast_place(user=user, market=market, probability=0.6)


def test_a_market_past_its_close_time_refuses_forecasts_before_the_beat_closes_it(user, market):
    Market.objects.filter(pk=market.pk).update(close_time=timezone.now() - timedelta(seconds=1))
    with pytest.raises(MarketNotOpen, match="closed at"):
        forecast_place(user=user, market=market, probability=0.6)
    assert markets_close_due() == [market.pk]
    assert Market.objects.get(pk=market.pk).status == "closed"


@pytest.mark.parametrize("status", ["running", "resolved", "annulled"])
def test_forecasts_are_refused_in_every_state_but_open(user, market, status):
    if status == "running":
        market_close(market=market)
        Market.objects.filter(pk=market.pk).update(status="running")
    elif status == "resolved":
        market_resolve(market=market, outcome="yes")
    else:
        market_annul(market=market, reason="test")
    with pytest.raises(MarketNotOpen, match=status):
        forecast_place(user=user, market=market, probability=0.6)


def test_a_dry_run_quotes_without_changing_anything(user, market):
    quote = forecast_place(user=user, market=market, probability=0.7, dry_run=True)
    assert quote.dry_run and quote.forecast_id is None
    assert float(quote.cost) == pytest.approx(51.0826, abs=1e-4)
    assert quote.payout_if_yes == quote.shares_yes > 0 and quote.payout_if_no == 0
    assert not Forecast.objects.exists() and balance(user) == 1000
    assert Market.objects.get(pk=market.pk).q_yes == 0


def test_resolution_pays_one_point_per_winning_share_exactly_once(user, other_user, market):
    yes = forecast_place(user=user, market=market, probability=0.8)
    no = forecast_place(user=other_user, market=market, probability=0.4)
    market_close(market=market)
    with settled_announcements() as announced:
        first = market_resolve(market=market, outcome="yes")
        again = market_resolve(market=market, outcome="yes")
    assert announced == [market.pk]  # once: the second call moved nothing
    assert first.paid == yes.shares_yes and not first.already_resolved
    assert again.paid == 0 and again.already_resolved
    assert LedgerEntry.objects.filter(kind="payout").count() == 1
    assert balance(user) == Decimal(1000) - yes.cost + yes.shares_yes
    assert balance(other_user) == Decimal(1000) - no.cost
    market.refresh_from_db()
    assert market.status == "resolved" and market.outcome == "yes" and market.resolved_at
    assert market.maker_account.balance == 0  # the maker's remainder went back to the house
    assert ledger_reconcile().ok


def test_a_resolved_market_cannot_be_resolved_the_other_way_or_annulled(market):
    market_resolve(market=market, outcome="no")
    with pytest.raises(MarketStateError, match="already resolved NO"):
        market_resolve(market=market, outcome="yes")
    with pytest.raises(MarketStateError, match="cannot be annulled"):
        market_annul(market=market, reason="too late")


def test_re_resolution_takes_back_the_old_payouts_and_pays_the_new_winners(user, other_user, market):
    forecast_place(user=user, market=market, probability=0.8)  # YES holder
    forecast_place(user=other_user, market=market, probability=0.3)  # NO holder
    yes_shares = Position.objects.get(user=user).shares_yes
    no_shares = Position.objects.get(user=other_user).shares_no
    before = {u.pk: balance(u) for u in (user, other_user)}
    market_resolve(market=market, outcome="yes")
    assert balance(user) == before[user.pk] + yes_shares
    with settled_announcements() as announced:
        result = market_reresolve(market=market, outcome="no", reason="verification run 7 decided NO")
    assert announced == [market.pk]
    assert (result.previous, result.outcome, result.already_resolved) == ("yes", "no", False)
    assert result.reversed == yes_shares and result.covered == 0 and result.paid == no_shares and result.winners == 1
    # As if it had resolved NO in the first place.
    assert balance(user) == before[user.pk] and balance(other_user) == before[other_user.pk] + no_shares
    market.refresh_from_db()
    assert market.status == "resolved" and market.outcome == "no"
    assert market.resolution_note.endswith("Re-resolved NO (was YES): verification run 7 decided NO")
    assert market.maker_account.balance == 0
    reversal = LedgerEntry.objects.get(kind="reversal")
    assert reversal.debit_account.user == user and reversal.credit_account.kind == "maker"
    report = ledger_reconcile()
    assert report.ok, report.summary()


def test_re_resolution_is_idempotent_and_needs_a_resolved_market_and_a_reason(user, market):
    forecast_place(user=user, market=market, probability=0.8)
    with pytest.raises(MarketStateError, match="only a resolved market"):
        market_reresolve(market=market, outcome="no", reason="too early")
    market_resolve(market=market, outcome="yes")
    with pytest.raises(ValueError, match="reason"):
        market_reresolve(market=market, outcome="no", reason=" ")
    with pytest.raises(ValueError, match="outcome"):
        market_reresolve(market=market, outcome="maybe", reason="typo")
    market_reresolve(market=market, outcome="no", reason="verified")
    entries = LedgerEntry.objects.count()
    again = market_reresolve(market=market, outcome="no", reason="clicked twice")
    assert again.already_resolved and again.paid == 0 and LedgerEntry.objects.count() == entries
    # and back again: a second correction reverses the first one's payouts
    market_reresolve(market=market, outcome="yes", reason="the verification had a bug")
    assert balance(user) == 1000 - Position.objects.get(user=user).net_cost + Position.objects.get(user=user).shares_yes
    report = ledger_reconcile()
    assert report.ok, report.summary()


def test_re_resolution_takes_back_only_what_a_balance_holds_and_the_house_covers_the_rest(
    user, other_user, market
):
    forecast_place(user=user, market=market, probability=0.9)
    forecast_place(user=other_user, market=market, probability=0.6)
    market_resolve(market=market, outcome="yes")
    payout = Position.objects.get(user=user).shares_yes
    # The winner spends all but ~10 points on a deep market: buying YES from 0.5 to p costs
    # b·ln(0.5 / (1 − p)), so p = 1 − 0.5·exp(−spend / b).
    elsewhere = MarketFactory(liquidity=1000.0)
    spend = float(balance(user)) - 10.0
    forecast_place(user=user, market=elsewhere, probability=1 - 0.5 * math.exp(-spend / 1000.0))
    left = balance(user)
    assert 0 < left < payout
    result = market_reresolve(market=market, outcome="no", reason="verified NO")
    assert result.reversed == left and result.covered == payout - left
    assert balance(user) == 0
    report = ledger_reconcile()
    assert report.ok, report.summary()


def test_an_unknown_outcome_is_refused(market):
    with pytest.raises(ValueError, match="outcome"):
        market_resolve(market=market, outcome="maybe")


def test_annulment_refunds_each_traders_net_cost(user, other_user, market):
    forecast_place(user=user, market=market, probability=0.8)
    forecast_place(user=other_user, market=market, probability=0.3)
    with settled_announcements() as announced:
        result = market_annul(market=market, reason="the experiment could not run")
        assert market_annul(market=market, reason="again").already_annulled
    assert announced == [market.pk]
    assert balance(user) == 1000 and balance(other_user) == 1000
    market.refresh_from_db()
    assert market.status == "annulled" and market.outcome is None
    assert market.resolution_note == "the experiment could not run"
    assert result.refunded > 0 and result.written_off == 0
    assert ledger_reconcile().ok


def test_annulment_takes_back_trading_profits(user, other_user, market):
    forecast_place(user=user, market=market, probability=0.6)
    forecast_place(user=other_user, market=market, probability=0.95)
    forecast_place(user=user, market=market, probability=0.9)  # sells YES at a profit
    assert Position.objects.get(user=user).net_cost < 0
    result = market_annul(market=market, reason="bug in the protocol")
    assert result.reversed > 0
    assert balance(user) == 1000 and balance(other_user) == 1000
    assert ledger_reconcile().ok


def test_an_annulment_needs_a_reason(market):
    with pytest.raises(ValueError, match="reason"):
        market_annul(market=market, reason="  ")


def test_reconcile_passes_on_a_busy_ledger_and_fails_on_a_tampered_one(user, other_user, market):
    for p in (0.7, 0.2, 0.55):
        forecast_place(user=user, market=market, probability=p)
        forecast_place(user=other_user, market=market, probability=1 - p)
    report = ledger_reconcile()
    assert report.ok, report.summary()
    LedgerEntry.objects.filter(kind="trade").order_by("pk").filter(
        pk=LedgerEntry.objects.filter(kind="trade").order_by("pk").first().pk
    ).update(amount=Decimal("1.5"))
    report = ledger_reconcile()
    assert not report.ok
    assert any("ledger sums to" in p for p in report.problems)
    assert any("trades in the ledger" in p for p in report.problems)


def test_reconcile_catches_a_balance_edited_outside_the_ledger(user):
    Account.objects.filter(user=user).update(balance=Decimal(5000))
    report = ledger_reconcile()
    assert not report.ok and any("sum to" in p for p in report.problems)


def test_reconcile_catches_shares_without_a_trade(user, market):
    forecast_place(user=user, market=market, probability=0.7)
    Market.objects.filter(pk=market.pk).update(q_yes=Decimal(500))
    problems = ledger_reconcile().problems
    assert any("positions sum to" in p for p in problems)


def test_database_constraints_hold_whichever_code_writes(user, market):
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(user=user).update(balance=Decimal(-1))
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(kind="grant", debit_account=market.maker_account,
                                   credit_account=Account.objects.get(user=user), amount=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        Market.objects.filter(pk=market.pk).update(outcome="yes")  # an outcome without resolution
    with pytest.raises(IntegrityError), transaction.atomic():
        Forecast.objects.create(user=user, market=market, probability_before=0.5, probability_after=1.0)


def test_market_open_rejects_a_spec_for_another_concept():
    with pytest.raises(CriterionError, match="concept"):
        MarketFactory(concept="C", spec={"concept": "A", "task": "digits", "arch": "mlp", "seeds": 8,
                                         "params": {}}, statistic="minority_fraction")


def test_market_open_rejects_a_close_time_in_the_past():
    with pytest.raises(CriterionError, match="future"):
        MarketFactory(close_time=timezone.now() - timedelta(minutes=1))
