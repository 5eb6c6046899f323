"""Finding markets: search over title and question, four sorts, filters that combine, all in the URL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from market.selectors import market_search
from market.services import forecast_place, market_close
from tests.market.factories import MarketFactory, UserFactory

pytestmark = pytest.mark.django_db


def titles(html: str) -> list[str]:
    return re.findall(r'<tr data-market="\d+">\s*<td><a href="/markets/\d+/">([^<]+)</a>', html)


@pytest.fixture
def world(db):
    now = timezone.now()
    soon = MarketFactory(
        title="Clock or pizza soon",
        concept="C",
        question="Do modadd transformers split?",
        close_time=now + timedelta(hours=2),
        spec={"concept": "C", "task": "modadd", "arch": "transformer", "seeds": 8, "params": {"p": 31}},
    )
    late = MarketFactory(
        title="Digits disagree late",
        question="Noisy digits: do seeds disagree?",
        close_time=now + timedelta(days=30),
    )
    busy = MarketFactory(
        title="Busy digits market", question="Many traders here.", close_time=now + timedelta(days=5)
    )
    closed = MarketFactory(title="Closed digits market", close_time=now + timedelta(hours=1))
    a, b = UserFactory(), UserFactory()
    forecast_place(user=a, market=busy, probability=0.9)
    forecast_place(user=b, market=busy, probability=0.52)  # volume large, price near 50%
    forecast_place(user=a, market=late, probability=0.8)
    forecast_place(user=a, market=soon, probability=0.6)
    market_close(market=closed)
    return {"soon": soon, "late": late, "busy": busy, "closed": closed}


def test_search_matches_title_and_question_words(client, world):
    # Without a sort: the default order (concept, then close time).
    assert titles(client.get("/?q=digits").content.decode()) == [
        "Closed digits market",
        "Busy digits market",
        "Digits disagree late",
    ]
    assert titles(client.get("/?q=transformers").content.decode()) == ["Clock or pizza soon"]  # question text
    assert titles(client.get("/?q=noisy+seeds").content.decode()) == ["Digits disagree late"]  # every word
    assert "No market matches" in client.get("/?q=zebra").content.decode()


@pytest.mark.parametrize(
    "sort, expected",
    [
        (
            "closing",
            ["Clock or pizza soon", "Busy digits market", "Digits disagree late", "Closed digits market"],
        ),
        (
            "traded",
            ["Busy digits market", "Digits disagree late", "Clock or pizza soon", "Closed digits market"],
        ),
        (
            "uncertain",
            ["Closed digits market", "Busy digits market", "Clock or pizza soon", "Digits disagree late"],
        ),
        (
            "newest",
            ["Closed digits market", "Busy digits market", "Digits disagree late", "Clock or pizza soon"],
        ),
    ],
)
def test_each_sort_orders_the_list(client, world, sort, expected):
    assert titles(client.get(f"/?sort={sort}").content.decode()) == expected
    assert [m.title for m in market_search(sort=sort)] == expected


def test_filters_combine_with_search_and_sort_in_the_url(client, world):
    html = client.get("/?q=digits&status=open&sort=closing").content.decode()
    assert titles(html) == ["Busy digits market", "Digits disagree late"]
    # The form shows the choices back, so the URL is all a shared view needs.
    assert 'name="q" value="digits"' in html and '<option value="open" selected>' in html
    assert '<option value="closing" selected>' in html
    assert titles(client.get("/?q=pizza&concept=A").content.decode()) == []
    assert titles(client.get("/?q=pizza&concept=C").content.decode()) == ["Clock or pizza soon"]


def test_unknown_sort_and_filter_values_are_ignored(client, world):
    response = client.get("/?sort=drop+table&status=nope&concept=Z")
    assert response.status_code == 200 and len(titles(response.content.decode())) == 4


def test_a_closed_market_does_not_say_it_closes(client, world):
    html = client.get("/?sort=closing").content.decode()
    row = re.search(rf'<tr data-market="{world["closed"].pk}">(.*?)</tr>', html, re.S).group(1)
    assert "closed " in row and "closes" not in row
