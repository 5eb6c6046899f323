"""HTML pages: home, market page with the forecast form, registration, login and logout."""
import re

import pytest
from django.contrib.auth import get_user_model

from market.models import Account, Forecast
from market.services import forecast_place, market_close
from tests.market.factories import MarketFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_home_groups_markets_by_concept_with_their_figures(client, user):
    a = MarketFactory(concept="A", title="Seeds disagree")
    MarketFactory(concept="C", title="Clock or pizza", spec={"concept": "C", "task": "modadd", "arch": "transformer",
                                                             "seeds": 8, "params": {"p": 31}})
    forecast_place(user=user, market=a, probability=0.7)
    html = client.get("/").content.decode()
    assert "A. Variance across runs" in html and "C. Distinct clusters" in html
    assert html.index("Seeds disagree") < html.index("Clock or pizza")
    row = re.search(rf'<tr data-market="{a.pk}">(.*?)</tr>', html, re.S).group(1)
    assert "70.0%" in row and "51.08" in row and "open" in row
    assert "<td class=\"num\">1</td>" in row  # one forecaster


def test_home_filters_by_concept_and_status(client):
    MarketFactory(concept="A", title="Alpha market")
    closed = MarketFactory(concept="B", title="Beta market")
    market_close(market=closed)
    html = client.get("/?concept=B").content.decode()
    assert "Beta market" in html and "Alpha market" not in html
    html = client.get("/?status=open").content.decode()
    assert "Alpha market" in html and "Beta market" not in html
    assert "No market matches" in client.get("/?concept=A&status=closed").content.decode()


def test_market_page_shows_question_concept_criterion_and_chart(client, user, market):
    forecast_place(user=user, market=market, probability=0.7)
    html = client.get(f"/markets/{market.pk}/").content.decode()
    assert market.question in html
    assert "Variance across runs" in html and "How we measure it" in html
    assert market.spec_sha256 in html and "&quot;task&quot;: &quot;digits&quot;" in html
    assert "resolves YES if dis_ood is at least 0.03" in html
    assert "<svg" in html and "<path d=\"M" in html and "70.0%" in html
    assert "Log in</a> or <a" in html  # anonymous visitors are invited to log in


def test_market_page_draws_the_community_aggregate_beside_the_price(client, market):
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"forecaster{i}") for i in range(3)]
    )
    for user, p in zip(users, (0.6, 0.8, 0.3)):
        forecast_place(user=user, market=market, probability=p)
    html = client.get(f"/markets/{market.pk}/").content.decode()
    svg = re.search(r'<svg class="price-chart".*?</svg>', html, re.S).group(0)
    assert "community aggregate" in svg and 'stroke="#138a4b"' in svg  # the dashed community line


def test_market_page_shows_the_forecast_form_position_and_balance(client, user, market):
    forecast_place(user=user, market=market, probability=0.3)
    client.force_login(user)
    html = client.get(f"/markets/{market.pk}/").content.decode()
    assert 'id="forecast-form"' in html and 'type="range"' in html and 'name="percent"' in html
    assert "js/forecast.js" in html and "csrfmiddlewaretoken" in html
    balance = Account.objects.get(user=user).balance
    assert f"{balance:,.2f}" in html and "NO shares" in html


def test_the_form_post_works_without_javascript_and_shows_the_new_price(client, user, market):
    client.force_login(user)
    response = client.post(f"/markets/{market.pk}/", {"percent": "70"}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "moved from 50.0% to 70.0%" in html
    assert 'id="market-probability" data-probability="0.7' in html
    assert Forecast.objects.filter(user=user).count() == 1


@pytest.mark.parametrize("value, message", [("150", "between 1 and 99 (you entered 150)"), ("abc", "Enter a number"),
                                            ("0.7", "70 means 70%. Did you mean 70%?")])
def test_a_bad_form_value_is_shown_as_an_error(client, user, market, value, message):
    client.force_login(user)
    response = client.post(f"/markets/{market.pk}/", {"percent": value})
    assert response.status_code == 400 and message in response.content.decode()
    assert not Forecast.objects.exists()


def test_a_service_refusal_is_shown_on_the_form(client, user):
    deep = MarketFactory(liquidity=1000.0)
    client.force_login(user)
    response = client.post(f"/markets/{deep.pk}/", {"percent": "99"})
    html = response.content.decode()
    assert response.status_code == 400 and "furthest you can afford is 81.60%" in html
    assert 'name="percent" value="81.60"' in html  # the one-click move to it


def test_a_closed_market_page_has_no_form(client, user, market):
    market_close(market=market)
    client.force_login(user)
    html = client.get(f"/markets/{market.pk}/").content.decode()
    assert 'id="forecast-form"' not in html and "no longer accepts forecasts" in html


def test_anonymous_form_posts_go_to_login(client, market):
    response = client.post(f"/markets/{market.pk}/", {"percent": "70"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_user_text_is_escaped(client, user):
    market = MarketFactory(title="<script>alert(1)</script>", question="<b>bold?</b>")
    user.username = "<img src=x>"
    user.save()
    forecast_place(user=user, market=market, probability=0.6)
    for url in ("/", f"/markets/{market.pk}/"):
        html = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x>" not in client.get(f"/markets/{market.pk}/").content.decode()


def test_registration_logs_in_and_grants_1000_points(client, db):
    response = client.post(
        "/accounts/register/",
        {"username": "newcomer", "password1": "a-long-Passphrase-2026", "password2": "a-long-Passphrase-2026"},
        follow=True,
    )
    assert response.status_code == 200 and response.context["user"].is_authenticated
    user = get_user_model().objects.get(username="newcomer")
    assert Account.objects.get(user=user).balance == 1000
    assert "1000 points" in response.content.decode()


def test_registration_errors_are_shown(client, db):
    response = client.post("/accounts/register/", {"username": "x", "password1": "a", "password2": "b"})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not get_user_model().objects.filter(username="x").exists()


def test_login_and_logout_pages(client, user):
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": user.username, "password": "pw-test-2026"})
    assert response.status_code == 302
    assert "Log out" in client.get("/").content.decode()
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "Log in" in client.get("/").content.decode()


def test_unknown_market_page_is_404(client, db):
    assert client.get("/markets/999999/").status_code == 404


def _login_throttle(monkeypatch, rate: str) -> None:
    from django.core.cache import cache

    from core.api.throttling import LoginRateThrottle

    monkeypatch.setattr(LoginRateThrottle, "THROTTLE_RATES", {"login": rate})
    cache.clear()


def test_the_login_form_is_rate_limited_per_address_without_checking_the_password(client, monkeypatch):
    from django.contrib.auth import authenticate as real_authenticate

    user = UserFactory()
    _login_throttle(monkeypatch, "2/min")
    wrong = {"username": user.username, "password": "not-it"}
    assert [client.post("/accounts/login/", wrong).status_code for _ in range(2)] == [200, 200]
    checked = []
    monkeypatch.setattr("django.contrib.auth.forms.authenticate",
                        lambda *a, **kw: checked.append(1) or real_authenticate(*a, **kw))
    response = client.post("/accounts/login/", {"username": user.username, "password": "pw-test-2026"})
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    body = response.content.decode()
    assert "Too many login attempts from your address" in body and "didn&#x27;t match" not in body
    assert f'value="{user.username}"' in body  # the form comes back filled in
    assert checked == [] and "_auth_user_id" not in client.session  # refused before any password check


def test_the_login_form_and_the_token_endpoint_share_one_budget(client, monkeypatch):
    from rest_framework.test import APIClient

    user = UserFactory()
    _login_throttle(monkeypatch, "2/min")
    assert client.post("/accounts/login/", {"username": user.username, "password": "not-it"}).status_code == 200
    api = APIClient()
    token = api.post("/api/v1/auth/token/", {"username": user.username, "password": "pw-test-2026"}, format="json")
    assert token.status_code == 200
    refused = api.post("/api/v1/auth/token/", {"username": user.username, "password": "pw-test-2026"}, format="json")
    assert refused.status_code == 429 and refused.json()["retry_after_seconds"] >= 1
    assert client.post("/accounts/login/", {"username": user.username, "password": "pw-test-2026"}).status_code == 429


def test_the_admin_login_shares_the_login_limit(client, monkeypatch):
    staff = get_user_model().objects.create_user("staff-limit", password="pw-test-2026", is_staff=True)
    _login_throttle(monkeypatch, "1/min")
    wrong = {"username": staff.username, "password": "not-it", "next": "/admin/"}
    assert client.post("/admin/login/?next=/admin/", wrong).status_code == 200  # the admin's own form
    right = {"username": staff.username, "password": "pw-test-2026", "next": "/admin/"}
    response = client.post("/admin/login/?next=/admin/", right)
    assert response.status_code == 429 and "Too many login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/login/").status_code == 200  # looking at the page is never limited
