"""LMSR maths against hand-computed values and hypothesis properties (no database)."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market import lmsr

B = 100.0


def test_moving_from_half_to_seventy_percent_costs_b_ln_ratio():
    assert lmsr.cost_to_price(0.0, 0.0, B, 0.7) == pytest.approx(100 * math.log(0.5 / 0.3))
    assert lmsr.cost_to_price(0.0, 0.0, B, 0.7) == pytest.approx(51.08, abs=0.005)
    trade = lmsr.trade_to_price(0.0, 0.0, B, 0.7)
    assert trade.cost == pytest.approx(51.0826, abs=1e-4)
    assert trade.delta_yes == pytest.approx(100 * math.log(0.7 / 0.3))  # b·ln(p1(1−p0)/(p0(1−p1)))
    assert trade.delta_no == 0
    assert trade.probability_after == pytest.approx(0.7)


def test_moving_down_buys_no_shares_symmetrically():
    trade = lmsr.trade_to_price(0.0, 0.0, B, 0.3)
    assert trade.delta_yes == 0
    assert trade.delta_no == pytest.approx(100 * math.log(0.7 / 0.3))
    assert trade.cost == pytest.approx(100 * math.log(0.5 / 0.3))


def test_cost_and_price_at_the_origin():
    assert lmsr.cost(0.0, 0.0, B) == pytest.approx(B * math.log(2))
    assert lmsr.price(0.0, 0.0, B) == 0.5
    assert lmsr.max_loss(B) == pytest.approx(69.3147, abs=1e-4)


def test_cost_is_stable_for_huge_share_counts():
    # exp(1e6/100) overflows; log-sum-exp must not.
    assert lmsr.cost(1e6, 0.0, B) == pytest.approx(1e6)
    assert lmsr.price(1e6, 0.0, B) == 1.0
    assert lmsr.price(0.0, 1e6, B) == 0.0


def test_selling_held_opposite_shares_comes_first():
    delta_yes, delta_no = lmsr.split_move(50.0, held_yes=0.0, held_no=30.0)
    assert (delta_yes, delta_no) == (20.0, -30.0)
    delta_yes, delta_no = lmsr.split_move(-10.0, held_yes=25.0, held_no=0.0)
    assert (delta_yes, delta_no) == (-10.0, 0.0)


def test_furthest_affordable_price_is_exactly_affordable():
    p = lmsr.furthest_affordable(0.0, 0.0, B, 0.99, 40.0)
    assert lmsr.cost_to_price(0.0, 0.0, B, p) == pytest.approx(40.0)
    p = lmsr.furthest_affordable(0.0, 0.0, B, 0.01, 40.0)
    assert lmsr.cost_to_price(0.0, 0.0, B, p) == pytest.approx(40.0)
    # A reachable target is returned unchanged.
    assert lmsr.furthest_affordable(0.0, 0.0, B, 0.6, 1000.0) == 0.6


def test_furthest_affordable_counts_sale_proceeds_first():
    held_no = 80.0  # a trader holding NO shares sells them before buying YES
    q_yes, q_no = 0.0, held_no
    p = lmsr.furthest_affordable(q_yes, q_no, B, 0.99, 10.0, held_no=held_no)
    trade = lmsr.trade_to_price(q_yes, q_no, B, p, held_no=held_no)
    assert trade.cost == pytest.approx(10.0)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_probabilities_outside_the_open_interval_are_refused(bad):
    with pytest.raises(ValueError, match="probability"):
        lmsr.shares_to_price(0.0, 0.0, B, bad)


def test_liquidity_must_be_positive():
    with pytest.raises(ValueError, match="liquidity"):
        lmsr.cost(0.0, 0.0, 0.0)


probabilities = st.floats(min_value=0.01, max_value=0.99)


@settings(max_examples=200, deadline=None)
@given(st.lists(probabilities, min_size=1, max_size=30), st.floats(min_value=1.0, max_value=1000.0))
def test_no_trade_sequence_makes_the_maker_lose_more_than_b_ln2(targets, b):
    q_yes = q_no = collected = 0.0
    for p in targets:
        trade = lmsr.trade_to_price(q_yes, q_no, b, p)
        q_yes, q_no = q_yes + trade.delta_yes, q_no + trade.delta_no
        collected += trade.cost
        assert lmsr.price(q_yes, q_no, b) == pytest.approx(p, abs=1e-9)
    # Whichever outcome happens, the maker pays the winning shares out of what it collected.
    worst_loss = max(q_yes, q_no) - collected
    assert worst_loss <= lmsr.max_loss(b) + 1e-9 * max(1.0, b)


@settings(max_examples=200, deadline=None)
@given(probabilities, probabilities, st.floats(min_value=1.0, max_value=1000.0))
def test_buying_then_selling_the_same_shares_nets_zero(p_start, p_move, b):
    q_yes, q_no = lmsr.shares_to_price(0.0, 0.0, b, p_start), 0.0  # any starting state
    trade = lmsr.trade_to_price(q_yes, q_no, b, p_move)
    held_yes, held_no = max(trade.delta_yes, 0.0), max(trade.delta_no, 0.0)
    back = lmsr.trade_to_price(q_yes + trade.delta_yes, q_no + trade.delta_no, b, trade.probability_before,
                               held_yes=held_yes, held_no=held_no)
    assert back.delta_yes == pytest.approx(-trade.delta_yes, abs=1e-9 * b)
    assert back.delta_no == pytest.approx(-trade.delta_no, abs=1e-9 * b)
    assert trade.cost + back.cost == pytest.approx(0.0, abs=1e-9 * b)


@settings(max_examples=100, deadline=None)
@given(probabilities, probabilities)
def test_cost_to_price_agrees_with_the_cost_function(p0, p1):
    d0 = lmsr.shares_to_price(0.0, 0.0, B, p0)
    q_yes, q_no = (d0, 0.0) if d0 >= 0 else (0.0, -d0)
    trade = lmsr.trade_to_price(q_yes, q_no, B, p1)
    assert trade.cost == pytest.approx(lmsr.cost_to_price(q_yes, q_no, B, p1), abs=1e-9)
