"""The admin changes markets only through the services (actions), never by editing fields."""
import pytest

from market.models import Market
from market.services import forecast_place

pytestmark = pytest.mark.django_db


def test_staff_resolve_a_market_with_an_admin_action(admin_client, user, market):
    forecast_place(user=user, market=market, probability=0.7)
    response = admin_client.post("/admin/market/market/",
                                 {"action": "resolve_yes", "_selected_action": [market.pk]})
    assert response.status_code == 302
    market.refresh_from_db()
    assert market.status == "resolved" and market.outcome == "yes" and "admin" in market.resolution_note
    assert admin_client.get(f"/admin/market/market/{market.pk}/change/").status_code == 200  # view only


def test_an_action_that_does_not_apply_reports_an_error(admin_client, market):
    admin_client.post("/admin/market/market/", {"action": "resolve_no", "_selected_action": [market.pk]})
    response = admin_client.post("/admin/market/market/",
                                 {"action": "annul_markets", "_selected_action": [market.pk]}, follow=True)
    assert "cannot be annulled" in response.content.decode()
    assert Market.objects.get(pk=market.pk).status == "resolved"
