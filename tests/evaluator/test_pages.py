"""HTML pages of the evaluator with the real database: empty site, filled site, escaping, 404s."""
from __future__ import annotations

import pytest

from tests.evaluator.factories import make_user

pytestmark = pytest.mark.django_db


def test_empty_leaderboard_explains_itself(client):
    response = client.get("/leaderboard/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "No resolved markets" in body and "Reference forecasters" in body


def test_leaderboard_lists_users_reference_rows_and_filters_by_concept(client, resolved_markets):
    body = client.get("/leaderboard/").content.decode()
    for name in ("alice", "bob", "carol"):
        assert f'data-user="{name}"' in body
    assert 'data-reference="market_price"' in body and 'data-reference="community"' in body
    assert "3 resolved markets" in body
    only_c = client.get("/leaderboard/?concept=C").content.decode()
    assert 'data-user="alice"' in only_c and 'data-user="bob"' not in only_c
    assert "1 resolved market " in only_c


def test_leaderboard_rejects_an_unknown_concept(client):
    assert client.get("/leaderboard/?concept=Q").status_code == 404


def test_empty_factor_page_says_there_is_not_enough_data(client):
    response = client.get("/factor/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "No setups measured yet. A first estimate needs at least 3 setups" in body
    assert 'id="no-estimate"' in body and "<svg" not in body  # no empty plots, one plain explanation


def test_factor_page_shows_matrix_scree_loadings_and_verdict(client, factor_cells):
    body = client.get("/factor/").content.decode()
    assert 'id="n-setups">40<' in body
    assert "Evidence of a general factor" in body or "Suggestive" in body
    assert "null 95th percentile" in body
    assert body.count("<svg") == 7
    assert "task0/mlp/setting0" in body
    assert "/exports/factor.csv" in body


def test_profile_of_unknown_user_is_404(client):
    assert client.get("/users/nobody/").status_code == 404


def test_profile_shows_calibration_history_and_escapes_titles(client, resolved_markets):
    body = client.get("/users/alice/").content.decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; seeds" in body
    assert body.count('data-market="') == 3
    assert "Calibration figures" in body and "ECE" in body
    assert "forecasts.csv" not in body  # only the owner sees their export links


def test_profile_of_new_user_renders_empty_states(client, db):
    make_user("newbie")
    body = client.get("/users/newbie/").content.decode()
    assert "No resolved forecasts yet" in body and "no forecasts on resolved markets yet" in body


def test_own_profile_links_the_csv_exports(client, resolved_markets):
    client.force_login(resolved_markets["alice"])
    body = client.get("/users/alice/").content.decode()
    assert "/users/alice/forecasts.csv" in body and "/users/alice/scores.csv" in body
