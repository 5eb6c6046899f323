"""The report page, the runs API and the staff actions of the resolution pipeline."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils.html import escape
from rest_framework.test import APIClient

from experiments.models import ExperimentRun
from market.services import market_close
from tests.experiments import pipeline_support
from tests.experiments.pipeline_support import tiny_market

pytestmark = pytest.mark.django_db
eager_celery = pipeline_support.eager_celery  # fixture
RUN_FIELDS = {"id", "market", "status", "progress", "message", "spec", "spec_sha256", "statistic", "ci_low",
              "ci_high", "details", "per_seed", "provenance", "decision"}


@pytest.fixture
def resolved(eager_celery, django_capture_on_commit_callbacks):
    market, _ = tiny_market()
    with django_capture_on_commit_callbacks(execute=True):
        market_close(market=market)
    run = ExperimentRun.objects.get(market_link__market=market)
    assert run.status == "succeeded", run.error
    market.refresh_from_db()
    return market, run


@pytest.fixture
def staff_client():
    staff = get_user_model().objects.create_user("chief", password="pw-chief-2026", is_staff=True)
    client = APIClient()
    client.force_authenticate(staff)
    return client


def test_report_before_closing_says_the_market_has_not_closed_yet(client):
    market, _ = tiny_market()
    page = client.get(f"/markets/{market.pk}/report/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "has not closed yet" in html and market.spec_sha256 in html and "poll-ids" not in html


def test_report_of_a_running_market_polls_the_runs_api(client, django_capture_on_commit_callbacks):
    market, _ = tiny_market()
    with django_capture_on_commit_callbacks(execute=False):
        market_close(market=market)
    run = ExperimentRun.objects.get(market_link__market=market)
    html = client.get(f"/markets/{market.pk}/report/").content.decode()
    assert f'id="poll-ids" type="application/json">[{run.pk}]' in html
    assert f'id="poll-main" type="application/json">{run.pk}' in html
    assert "js/report_progress.js" in html and 'id="run-progress"' in html
    script = (Path(__file__).resolve().parents[2] / "static" / "js" / "report_progress.js").read_text()
    assert "/api/v1/runs/${id}/" in script


def test_report_shows_the_numbers_of_the_runs_json(client, resolved):
    market, run = resolved
    html = client.get(f"/markets/{market.pk}/report/").content.decode()
    result = client.get(f"/runs/{run.pk}/result.json").json()
    assert result == run.result
    for key in ("statistic", "ci_low", "ci_high"):
        # floatformat:"-6" of the stored value
        assert f'id="{key.replace("_", "-")}">{float(result[key]):.6f}'.rstrip("0") in html
    assert "<svg" in html and "YES side" in html and escape(run.decision_reason) in html
    assert market.spec_sha256 in html and result["provenance"]["code_version"] in html
    for path in (p for k, p in run.artifacts.items() if k.startswith("plot:")):
        assert f'src="/media/{path}"' in html
    assert "Re-run to verify" not in html  # staff only


def test_per_seed_csv_download_matches_the_result(client, resolved):
    _, run = resolved
    response = client.get(f"/runs/{run.pk}/per_seed.csv")
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [int(r["seed"]) for r in rows] == [row["seed"] for row in run.result["per_seed"]]
    assert [float(r["behaviour"]) for r in rows] == [row["behaviour"] for row in run.result["per_seed"]]


def test_runs_api_has_exactly_the_contract_fields(resolved):
    market, run = resolved
    api = APIClient()
    body = api.get(f"/api/v1/runs/{run.pk}/").json()
    assert set(body) == RUN_FIELDS
    assert body["market"] == market.pk and body["status"] == "succeeded" and body["progress"] == 1.0
    assert (body["statistic"], body["ci_low"], body["ci_high"]) == (
        run.result["statistic"], run.result["ci_low"], run.result["ci_high"])
    assert body["per_seed"] == run.result["per_seed"] and body["decision"]["outcome"] == "yes"
    listing = api.get(f"/api/v1/runs/?market={market.pk}").json()
    assert [r["id"] for r in listing["results"]] == [run.pk]
    assert api.get("/api/v1/runs/?status=sideways").status_code == 400
    assert api.get(f"/api/v1/markets/{market.pk}/").json()["run_id"] == run.pk


def test_staff_actions_are_refused_to_everyone_else(resolved):
    _, run = resolved
    anonymous = APIClient()
    assert anonymous.post(f"/api/v1/runs/{run.pk}/verify/").status_code in (401, 403)
    trader = get_user_model().objects.create_user("trader-x", password="pw-trader-2026")
    client = APIClient()
    client.force_authenticate(trader)
    for action in ("verify", "requeue", "annul"):
        assert client.post(f"/api/v1/runs/{run.pk}/{action}/", {"reason": "x"}).status_code == 403
    assert ExperimentRun.objects.count() == 1


def test_staff_verify_runs_fresh_seeds_and_the_report_shows_both(
    resolved, staff_client, django_capture_on_commit_callbacks, client
):
    market, run = resolved
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"/api/v1/runs/{run.pk}/verify/")
    assert response.status_code == 202 and set(response.json()) == RUN_FIELDS
    verify = ExperimentRun.objects.get(pk=response.json()["id"])
    assert verify.status == "succeeded" and verify.purpose == "verify"
    # requeueing a succeeded run is refused with a message; annulling a resolved market too
    refused = staff_client.post(f"/api/v1/runs/{run.pk}/requeue/")
    assert refused.status_code == 400 and "verify" in refused.json()["detail"]
    annul = staff_client.post(f"/api/v1/runs/{run.pk}/annul/", {"reason": "test"}, format="json")
    assert annul.status_code == 400 and "resolved" in annul.json()["detail"]
    html = client.get(f"/markets/{market.pk}/report/").content.decode()
    assert "Verification runs" in html and f"#{verify.pk} (verify)" in html and f"verify #{verify.pk}" in html


def _disagreeing_verification(run: ExperimentRun, market, capture) -> tuple[ExperimentRun, str]:
    """A succeeded verification run of ``run`` whose decision is the other outcome (its fresh seeds are
    trained for real; only the stored decision is flipped, as if they had landed past the threshold)."""
    from resolution import services

    with capture(execute=True):
        verify = services.run_verify(run_id=run.pk)
    flipped = "no" if market.outcome == "yes" else "yes"
    ExperimentRun.objects.filter(pk=verify.pk).update(decision=flipped, decision_reason="CI past the threshold")
    verify.refresh_from_db()
    assert verify.status == "succeeded"
    return verify, flipped


def test_staff_re_resolve_from_a_disagreeing_verification_on_the_page_and_the_api(
    resolved, client, staff_client, django_capture_on_commit_callbacks
):
    from market.reconcile import ledger_reconcile

    market, run = resolved
    verify, flipped = _disagreeing_verification(run, market, django_capture_on_commit_callbacks)
    previous = market.outcome
    staff = get_user_model().objects.create_user("judge", password="pw-judge-2026", is_staff=True)
    client.force_login(staff)
    html = client.get(f"/markets/{market.pk}/report/").content.decode()
    assert f"/runs/{verify.pk}/reresolve/" in html and f"Re-resolve {flipped.upper()} from run #{verify.pk}" in html
    # the resolution run itself cannot re-resolve; a reason is required
    refused = staff_client.post(f"/api/v1/runs/{run.pk}/reresolve/", {"reason": "x"}, format="json")
    assert refused.status_code == 400 and "verification run" in refused.json()["detail"]
    assert staff_client.post(f"/api/v1/runs/{verify.pk}/reresolve/", {}, format="json").status_code == 400
    response = client.post(f"/runs/{verify.pk}/reresolve/", {"reason": "fresh seeds land past the threshold"},
                           follow=True)
    assert response.status_code == 200
    assert f"re-resolved {flipped.upper()} (was {previous.upper()})" in response.content.decode()
    market.refresh_from_db()
    assert market.status == "resolved" and market.outcome == flipped
    assert f"verification run {verify.pk}" in market.resolution_note and "judge" in market.resolution_note
    html = client.get(f"/markets/{market.pk}/report/").content.decode()
    assert f"/runs/{verify.pk}/reresolve/" not in html  # nothing left to re-resolve
    assert f"The market was re-resolved {flipped.upper()}</strong>" in html and "fresh seeds land past" in html
    again = staff_client.post(f"/api/v1/runs/{verify.pk}/reresolve/", {"reason": "twice"}, format="json")
    assert again.status_code == 200 and again.json()["already_resolved"] is True
    report = ledger_reconcile()
    assert report.ok, report.summary()


def test_re_resolve_is_refused_to_non_staff(resolved, django_capture_on_commit_callbacks, client):
    market, run = resolved
    verify, _ = _disagreeing_verification(run, market, django_capture_on_commit_callbacks)
    trader = get_user_model().objects.create_user("trader-y", password="pw-trader-2026")
    api = APIClient()
    api.force_authenticate(trader)
    assert api.post(f"/api/v1/runs/{verify.pk}/reresolve/", {"reason": "mine"}, format="json").status_code == 403
    client.force_login(trader)
    assert client.post(f"/runs/{verify.pk}/reresolve/", {"reason": "mine"}).status_code == 302  # to admin login
    assert "reresolve" not in client.get(f"/markets/{market.pk}/report/").content.decode()
    outcome = market.outcome
    market.refresh_from_db()
    assert market.outcome == outcome


def test_report_shows_staff_buttons_and_the_admin_lists_runs(resolved, client):
    market, run = resolved
    staff = get_user_model().objects.create_user("boss", password="pw-boss-2026", is_staff=True, is_superuser=True)
    client.force_login(staff)
    html = client.get(f"/markets/{market.pk}/report/").content.decode()
    assert "Re-run to verify" in html and f"/runs/{run.pk}/verify/" in html
    assert client.get("/admin/experiments/experimentrun/").status_code == 200
    assert client.get(f"/admin/experiments/experimentrun/{run.pk}/change/").status_code == 200
    response = client.post(f"/runs/{run.pk}/verify/")
    assert response.status_code == 302 and ExperimentRun.objects.filter(purpose="verify").count() == 1


def test_a_failed_run_shows_staff_the_error_and_the_requeue_and_annul_buttons(
    eager_celery, django_capture_on_commit_callbacks, client, monkeypatch
):
    from experiments import registry
    from market.models import Market

    market, _ = tiny_market()
    protocol = registry.get_protocol("A")
    monkeypatch.setattr(type(protocol), "train_seeds", lambda self, *a, **k: (_ for _ in ()).throw(RuntimeError("OOM")))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            market_close(market=market)
    except RuntimeError:
        pass  # eager Celery re-raises the final failure; a worker records it
    run = ExperimentRun.objects.get(market_link__market=market)
    assert run.status == "failed"
    html = client.get(f"/markets/{market.pk}/report/").content.decode()
    # Everyone sees the failure and its last line; only staff see the traceback and the actions.
    assert "failed after its retries" in html and "Traceback" not in html and "Re-queue" not in html
    staff = get_user_model().objects.create_user("ops", password="pw-ops-2026", is_staff=True)
    client.force_login(staff)
    html = client.get(f"/markets/{market.pk}/report/").content.decode()
    assert "Traceback" in html and "Re-queue run" in html and "Annul market" in html
    assert client.post(f"/runs/{run.pk}/annul/", {"reason": ""}).status_code == 302
    assert Market.objects.get(pk=market.pk).status == "closed"  # no reason, no annulment
    client.post(f"/runs/{run.pk}/annul/", {"reason": "GPU node lost"})
    assert Market.objects.get(pk=market.pk).status == "annulled"
