"""The market chart: a step over trade index (trades stay readable however they bunch in time), the
viewer's own forecasts marked, and the resolution marked."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from experiments.charts import price_chart_svg
from market.services import forecast_place, market_close, market_resolve
from tests.market.factories import UserFactory

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_trades_are_spaced_by_index_not_by_time():
    # One trade after a month, then two within a second: equal steps all the same.
    history = [
        {"time": T0, "probability": 0.5},
        {"time": T0 + timedelta(days=30), "probability": 0.7},
        {"time": T0 + timedelta(days=30, seconds=1), "probability": 0.4},
        {"time": T0 + timedelta(days=30, seconds=2), "probability": 0.6},
    ]
    svg = str(price_chart_svg(history))
    path = re.search(r'<path d="(M[^"]+)" fill="none" stroke="#3056d3"', svg).group(1)
    xs = [float(v) for v in re.findall(r"H([\d.]+)V", path)]
    steps = [b - a for a, b in zip([44.0, *xs], xs)]
    assert len(xs) == 3 and max(steps) - min(steps) < 0.2


def test_own_forecasts_and_the_resolution_are_marked():
    history = [
        {"time": T0 + timedelta(minutes=i), "probability": p} for i, p in enumerate((0.5, 0.7, 0.3, 0.8))
    ]
    svg = str(price_chart_svg(history, mine=[1, 3], resolution="NO"))
    assert (
        svg.count("<title>your forecast:") == 2
        and "your forecast: 70.0%" in svg
        and "your forecast: 80.0%" in svg
    )
    assert "resolved NO" in svg and "your forecasts" in svg  # the legend
    assert "resolved" not in str(price_chart_svg(history)) and "your forecast" not in str(
        price_chart_svg(history)
    )


@pytest.mark.django_db
def test_the_market_page_marks_only_the_viewers_forecasts(client, market):
    me, other = UserFactory(), UserFactory()
    forecast_place(user=me, market=market, probability=0.7)
    forecast_place(user=other, market=market, probability=0.4)
    forecast_place(user=me, market=market, probability=0.6)
    market_close(market=market)
    market_resolve(market=market, outcome="yes")
    client.force_login(me)
    html = client.get(f"/markets/{market.pk}/").content.decode()
    assert html.count("<title>your forecast:") == 2 and "resolved YES</text>" in html
    assert html.index('id="outcome-lead"') < html.index('id="market-probability"')  # the outcome leads
    assert "Read the resolution report" in html
