"""The n-outcome LMSR (numeric markets): hand-computed values and hypothesis properties (no database)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market import lmsr

B = 100.0


def _distributions(n_min: int = 2, n_max: int = 12):
    """Strictly positive distributions over n outcomes."""
    return st.integers(n_min, n_max).flatmap(
        lambda n: st.lists(st.floats(0.05, 1.0), min_size=n, max_size=n)
    ).map(lambda w: np.asarray(w) / sum(w))


def test_uniform_state_costs_b_ln_n_and_prices_are_uniform():
    q = np.zeros(50)
    assert lmsr.cost_n(q, B) == pytest.approx(B * math.log(50))
    assert lmsr.prices_n(q, B) == pytest.approx(np.full(50, 1 / 50))
    assert lmsr.max_loss_n(B, 50) == pytest.approx(B * math.log(50))
    assert lmsr.max_loss(B) == pytest.approx(B * math.log(2))


def test_moving_three_bins_by_hand():
    # From uniform (1/3 each) to (1/2, 1/4, 1/4): the cheapest constant leaves the smallest-ratio bins
    # unbought, so Δ = b·ln(p'/p) − min over bins of b·ln(p'/p) = (b·ln 2, 0, 0), cost = b·ln(4/3).
    trade = lmsr.trade_to_distribution(np.zeros(3), B, [0.5, 0.25, 0.25])
    assert trade.deltas == pytest.approx([B * math.log(2), 0.0, 0.0])
    assert trade.cost == pytest.approx(B * math.log(4 / 3))
    assert trade.prices_after == pytest.approx([0.5, 0.25, 0.25])


def test_held_shares_are_sold_before_buying():
    held = np.array([0.0, 40.0, 10.0])
    q = held.copy()
    trade = lmsr.trade_to_distribution(q, B, [0.6, 0.2, 0.2], held=held)
    after = held + trade.deltas
    assert after.min() == pytest.approx(0.0, abs=1e-9)
    assert np.all(after >= -1e-9)
    assert trade.cost == pytest.approx(lmsr.trade_cost_n(q, B, trade.deltas))


@pytest.mark.parametrize("bad", [[0.5, 0.5, 0.0], [0.6, 0.6, -0.2], [0.5, 0.4], [float("nan"), 0.5, 0.5],
                                 [0.2, 0.2, 0.2]])
def test_bad_target_distributions_are_refused(bad):
    with pytest.raises(ValueError, match="distribution"):
        lmsr.trade_to_distribution(np.zeros(3), B, bad)


@settings(max_examples=150, deadline=None)
@given(_distributions(), st.floats(1.0, 1000.0), st.data())
def test_prices_sum_to_one_and_reach_the_target(target, b, data):
    n = target.size
    q = np.asarray(data.draw(st.lists(st.floats(-500, 500), min_size=n, max_size=n)))
    assert lmsr.prices_n(q, b).sum() == pytest.approx(1.0)
    trade = lmsr.trade_to_distribution(q, b, target)
    assert lmsr.prices_n(q + trade.deltas, b) == pytest.approx(target, abs=1e-9)
    assert lmsr.prices_n(q + trade.deltas, b).sum() == pytest.approx(1.0)


@settings(max_examples=150, deadline=None)
@given(st.integers(2, 10), st.floats(1.0, 500.0), st.data())
def test_cost_of_reaching_a_state_does_not_depend_on_the_path(n, b, data):
    steps = data.draw(st.lists(st.lists(st.floats(-50, 50), min_size=n, max_size=n), min_size=1, max_size=8))
    q = np.zeros(n)
    paid = 0.0
    for step in steps:
        paid += lmsr.trade_cost_n(q, b, step)
        q = q + np.asarray(step)
    # One trade straight to the final state costs the same as the sum along the way.
    assert paid == pytest.approx(lmsr.trade_cost_n(np.zeros(n), b, q), abs=1e-7 * max(1.0, b))
    order = data.draw(st.permutations(range(len(steps))))
    q2, paid2 = np.zeros(n), 0.0
    for i in order:
        paid2 += lmsr.trade_cost_n(q2, b, steps[i])
        q2 = q2 + np.asarray(steps[i])
    assert paid2 == pytest.approx(paid, abs=1e-7 * max(1.0, b))


@settings(max_examples=150, deadline=None)
@given(st.integers(2, 12), st.floats(1.0, 1000.0), st.data())
def test_no_sequence_of_forecasts_makes_the_maker_lose_more_than_b_ln_n(n, b, data):
    targets = data.draw(st.lists(_distributions(n, n), min_size=1, max_size=20))
    q, collected = np.zeros(n), 0.0
    for target in targets:
        trade = lmsr.trade_to_distribution(q, b, target)
        q, collected = q + trade.deltas, collected + trade.cost
    # Whichever bin the outcome lands in, the maker pays its shares out of what it collected.
    assert float(q.max()) - collected <= lmsr.max_loss_n(b, n) + 1e-9 * max(1.0, b)


@settings(max_examples=150, deadline=None)
@given(st.floats(0.01, 0.99), st.floats(0.01, 0.99), st.floats(1.0, 1000.0), st.floats(0.0, 200.0))
def test_two_outcomes_agree_with_the_binary_closed_forms(p0, p1, b, held_no):
    d0 = lmsr.shares_to_price(0.0, 0.0, b, p0)
    q_yes, q_no = (d0, held_no) if d0 >= 0 else (0.0, held_no - d0)
    start = lmsr.price(q_yes, q_no, b)
    trade = lmsr.trade_to_distribution((q_yes, q_no), b, (p1, 1 - p1))
    assert float(trade.prices_before[0]) == pytest.approx(start)
    assert trade.cost == pytest.approx(lmsr.cost_to_price(q_yes, q_no, b, p1), abs=1e-7 * b)
    d = lmsr.shares_to_price(q_yes, q_no, b, p1)
    assert float(trade.deltas[0] - trade.deltas[1]) == pytest.approx(d, abs=1e-7 * b)
    # With NO shares held, the n-outcome trade sells them first, as the binary split does.
    held = lmsr.trade_to_distribution((q_yes, q_no), b, (p1, 1 - p1), held=(0.0, held_no))
    binary = lmsr.trade_to_price(q_yes, q_no, b, p1, held_no=held_no)
    assert held.deltas == pytest.approx([binary.delta_yes, binary.delta_no], abs=1e-7 * b)
    assert held.cost == pytest.approx(binary.cost, abs=1e-7 * b)


@settings(max_examples=100, deadline=None)
@given(_distributions(3, 8), st.floats(0.0, 80.0), st.data())
def test_furthest_affordable_t_is_exactly_affordable(target, budget, data):
    n = target.size
    q = np.asarray(data.draw(st.lists(st.floats(0, 100), min_size=n, max_size=n)))
    t = lmsr.furthest_affordable_t(q, B, target, budget)
    current = lmsr.prices_n(q, B)
    mix = t * target + (1 - t) * current
    cost = lmsr.trade_to_distribution(q, B, mix / mix.sum()).cost
    assert cost <= budget + 1e-6
    if t < 1.0:
        assert cost == pytest.approx(budget, abs=1e-4)
