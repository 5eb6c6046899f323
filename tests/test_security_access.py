"""Who may do what: staff-only writes, other people's data and ids, CSRF on every form, production cookies."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from experiments.models import ExperimentRun
from market.models import Forecast, LedgerEntry, Market, MarketRun, MarketStatus, Position
from market.services import forecast_place, market_close
from proposals.models import Proposal, ProposalStatus
from proposals.services import proposal_create, proposal_dry_run
from tests.market.factories import MarketFactory, UserFactory
from tests.proposals.support import proposal_body, token_client
from tests.proposals.test_pages import form_data

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True)


@pytest.fixture
def alice(db):
    return UserFactory()


@pytest.fixture
def bob(db):
    return UserFactory()


@pytest.fixture
def failed_run(db):
    """A closed market whose resolution run failed: what staff re-queue, verify or annul."""
    market = MarketFactory()
    market_close(market=market)
    run = ExperimentRun.objects.get(market_link__market=market)
    ExperimentRun.objects.filter(pk=run.pk).update(status=ExperimentRun.Status.FAILED, error="boom")
    return run


def csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


# --- CSRF -------------------------------------------------------------------------------------------


def test_forms_refuse_posts_without_a_csrf_token(alice, staff, failed_run):
    market = MarketFactory()
    proposal = proposal_create(proposer=alice, data=proposal_body())
    before = (Forecast.objects.count(), Proposal.objects.count(), ExperimentRun.objects.count(),
              LedgerEntry.objects.count())
    as_alice, as_staff, anonymous = csrf_client(alice), csrf_client(staff), csrf_client(None)
    posts = [
        (as_alice, f"/markets/{market.pk}/", {"percent": "70"}),
        (as_alice, "/proposals/new/", form_data()),
        (as_alice, f"/proposals/{proposal.pk}/dry_run/", {}),
        (as_alice, "/accounts/logout/", {}),
        (as_staff, f"/proposals/{proposal.pk}/approve/", {}),
        (as_staff, f"/proposals/{proposal.pk}/reject/", {"reason": "forged"}),
        (as_staff, f"/runs/{failed_run.pk}/requeue/", {}),
        (as_staff, f"/runs/{failed_run.pk}/verify/", {}),
        (as_staff, f"/runs/{failed_run.pk}/annul/", {"reason": "forged"}),
        (as_staff, f"/runs/{failed_run.pk}/reresolve/", {"reason": "forged"}),
        (as_staff, "/admin/proposals/proposal/", {"action": "approve_proposals", "_selected_action": [proposal.pk]}),
        (as_staff, "/admin/market/market/", {"action": "annul_markets", "_selected_action": [market.pk]}),
        (anonymous, "/accounts/register/", {"username": "mallory", "password1": "x-Long-pass-123",
                                            "password2": "x-Long-pass-123"}),
        (anonymous, "/accounts/login/", {"username": alice.username, "password": "pw-test-2026"}),
    ]
    for client, url, data in posts:
        response = client.post(url, data)
        assert response.status_code == 403, (url, response.status_code)
    assert (Forecast.objects.count(), Proposal.objects.count(), ExperimentRun.objects.count(),
            LedgerEntry.objects.count()) == before
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    assert as_alice.get("/proposals/").status_code == 200  # the forged logout did not log her out


def test_the_api_with_a_session_cookie_needs_the_csrf_header(alice):
    market = MarketFactory()
    client = csrf_client(alice)
    response = client.post(f"/api/v1/markets/{market.pk}/forecasts/", {"probability": 0.7},
                           content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    response = client.post("/api/v1/proposals/", proposal_body(), content_type="application/json")
    assert response.status_code == 403
    assert Forecast.objects.count() == 0 and Proposal.objects.count() == 0


def test_a_form_post_with_the_token_goes_through(alice):
    """The control for the CSRF tests above: the same post with the page's token succeeds."""
    market = MarketFactory()
    client = csrf_client(alice)
    client.get(f"/markets/{market.pk}/")
    token = client.cookies["csrftoken"].value
    response = client.post(f"/markets/{market.pk}/", {"percent": "70", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and Forecast.objects.count() == 1


# --- staff-only writes ---------------------------------------------------------------------------------


def test_only_staff_requeue_verify_or_annul_runs_through_the_api(alice, staff, failed_run):
    for action, body in (("requeue", {}), ("verify", {}), ("annul", {"reason": "x"}), ("reresolve", {"reason": "x"})):
        url = f"/api/v1/runs/{failed_run.pk}/{action}/"
        assert APIClient().post(url, body, format="json").status_code == 401
        response = token_client(alice).post(url, body, format="json")
        assert response.status_code == 403 and response.json()["detail"]
    failed_run.refresh_from_db()
    assert failed_run.status == ExperimentRun.Status.FAILED
    assert ExperimentRun.objects.count() == 1 and Market.objects.get(run_links__run=failed_run).status == MarketStatus.CLOSED


def test_only_staff_requeue_verify_or_annul_runs_from_the_report_page(client, alice, failed_run):
    client.force_login(alice)
    for action, body in (("requeue", {}), ("verify", {}), ("annul", {"reason": "x"}), ("reresolve", {"reason": "x"})):
        response = client.post(f"/runs/{failed_run.pk}/{action}/", body)
        assert response.status_code in (302, 403, 404)
        assert "/admin/login/" in response.get("Location", "/admin/login/")
    failed_run.refresh_from_db()
    market = Market.objects.get(run_links__run=failed_run)
    assert failed_run.status == ExperimentRun.Status.FAILED and market.status == MarketStatus.CLOSED
    assert ExperimentRun.objects.count() == 1


def test_the_admin_is_closed_to_non_staff(client, alice):
    client.force_login(alice)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("action", ["close_markets", "resolve_yes", "resolve_no", "annul_markets"])
def test_only_staff_close_resolve_or_annul_markets(client, alice, action):
    market = MarketFactory()
    forecast_place(user=alice, market=market, probability=0.7)
    client.force_login(alice)
    response = client.post("/admin/market/market/", {"action": action, "_selected_action": [market.pk]})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    market.refresh_from_db()
    assert market.status == MarketStatus.OPEN and market.outcome is None


# --- other people's data --------------------------------------------------------------------------------


def test_a_forecast_is_always_booked_to_the_caller(alice, bob):
    market = MarketFactory()
    response = token_client(alice).post(f"/api/v1/markets/{market.pk}/forecasts/",
                                        {"probability": 0.7, "user": bob.pk, "user_id": bob.pk}, format="json")
    assert response.status_code == 201
    assert list(Position.objects.values_list("user", flat=True)) == [alice.pk]


def test_me_shows_only_the_callers_balance_and_positions(alice, bob):
    market = MarketFactory()
    forecast_place(user=bob, market=market, probability=0.8)
    body = token_client(alice).get("/api/v1/me/").json()
    assert body["username"] == alice.username and body["positions"] == []


def test_personal_exports_are_only_for_their_owner(client, alice, bob):
    client.force_login(alice)
    for kind in ("forecasts", "scores"):
        assert client.get(f"/users/{bob.username}/{kind}.csv").status_code == 403
        assert client.get(f"/users/{alice.username}/{kind}.csv").status_code == 200


def test_other_peoples_proposals_are_invisible(alice, bob):
    proposal = proposal_create(proposer=alice, data=proposal_body())
    client = token_client(bob)
    assert client.get("/api/v1/proposals/").json()["count"] == 0
    for method, suffix in (("get", ""), ("post", "dry_run/")):
        assert getattr(client, method)(f"/api/v1/proposals/{proposal.pk}/{suffix}").status_code == 404


def test_a_dry_run_is_visible_only_to_its_requester_and_staff(alice, bob, staff):
    proposal = proposal_create(proposer=alice, data=proposal_body())
    run = proposal_dry_run(proposal=proposal, user=alice)
    assert token_client(alice).get(f"/api/v1/runs/{run.pk}/").status_code == 200
    assert token_client(staff).get(f"/api/v1/runs/{run.pk}/").status_code == 200
    assert token_client(bob).get(f"/api/v1/runs/{run.pk}/").status_code == 404
    assert APIClient().get(f"/api/v1/runs/{run.pk}/").status_code == 404
    listed = [r["id"] for r in token_client(bob).get("/api/v1/runs/").json()["results"]]
    assert run.pk not in listed


def test_run_artifact_files_follow_the_runs_visibility(alice, bob, staff, settings):
    proposal = proposal_create(proposer=alice, data=proposal_body())
    run = proposal_dry_run(proposal=proposal, user=alice)
    folder = Path(settings.PATHMARKET["ARTIFACTS_DIR"]) / str(run.pk)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "behaviour.png").write_bytes(b"\x89PNG not really")
    url = f"/media/runs/{run.pk}/behaviour.png"

    def client_for(user):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    assert client_for(alice).get(url).status_code == 200
    assert client_for(staff).get(url).status_code == 200
    assert client_for(bob).get(url).status_code == 404
    assert client_for(None).get(url).status_code == 404
    # No way around the check: other spellings of the path and escapes from the run's folder.
    for sneaky in (f"/media/runs//{run.pk}/behaviour.png", f"/media/runs/{run.pk}/../{run.pk}/behaviour.png",
                   f"/media/runs/{run.pk}/%2e%2e/%2e%2e/settings.py", f"/media/runs%2f{run.pk}/behaviour.png"):
        assert client_for(bob).get(sneaky).status_code == 404, sneaky


def test_a_resolution_runs_artifacts_are_public(alice, settings):
    market = MarketFactory()
    run = ExperimentRun.objects.create(purpose=ExperimentRun.Purpose.RESOLUTION, spec=market.spec,
                                       spec_sha256=market.spec_sha256)
    MarketRun.objects.create(run=run, market=market)
    folder = Path(settings.PATHMARKET["ARTIFACTS_DIR"]) / str(run.pk)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "per_seed.csv").write_text("seed,behaviour\n0,0.5\n")
    response = Client().get(f"/media/runs/{run.pk}/per_seed.csv")
    assert response.status_code == 200 and b"seed,behaviour" in b"".join(response.streaming_content)


# --- production settings -----------------------------------------------------------------------------


def test_production_cookies_and_transport_are_locked_down():
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "kq3-Zt8_vW1x-Ry7pL0m2NbV5cX9sD4fG6hJ8kL1qW3eR5tY7uI9oP2aS4dF6gH8",
        "DJANGO_ALLOWED_HOSTS": "pathmarket.example.org",
    }
    names = ["DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT",
             "SECURE_HSTS_SECONDS", "SECURE_CONTENT_TYPE_NOSNIFF", "X_FRAME_OPTIONS", "ALLOWED_HOSTS"]
    code = ("import django, json; django.setup(); from django.conf import settings as s; "
            f"print(json.dumps({{n: getattr(s, n) for n in {names!r}}}))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    values = json.loads(proc.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] and values["SESSION_COOKIE_HTTPONLY"] and values["CSRF_COOKIE_SECURE"]
    assert values["SECURE_SSL_REDIRECT"] and values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] and values["X_FRAME_OPTIONS"] == "DENY"
    assert values["ALLOWED_HOSTS"] == ["pathmarket.example.org"]


def test_session_cookies_are_http_only_in_every_environment(client, alice):
    response = client.post("/accounts/login/", {"username": alice.username, "password": "pw-test-2026"})
    assert response.status_code == 302
    assert client.cookies["sessionid"]["httponly"]
