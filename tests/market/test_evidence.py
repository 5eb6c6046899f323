"""The "Evidence so far" panel on the market page, its CSV, GET /api/v1/markets/{id}/evidence/, and the
foregone-conclusion warning staff see when they review a proposal."""

import csv
import io
import json

import pytest

from market.services import market_open
from proposals.services import proposal_create
from tests.experiments.evidence_support import digits_row, survey_rows
from tests.market.factories import MarketFactory, UserFactory
from tests.proposals.support import proposal_body, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(db):
    """Ten digits MLP rows around noise 0.3: dis_ood from 0.01 to 0.10."""
    return survey_rows(
        [
            digits_row(v / 100, noise=0.25 + v / 100, ci=(v / 100 - 0.005, v / 100 + 0.005))
            for v in range(1, 11)
        ],
        name="survey-test",
    )


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True)


def test_the_market_page_shows_where_the_threshold_falls_among_nearby_rows(client, survey):
    market = MarketFactory(threshold=0.03)
    html = client.get(f"/markets/{market.pk}/").content.decode()
    assert 'id="evidence"' in html and "Evidence so far" in html
    assert "80% of the 10 nearest settings have dis_ood ≥ 0.03 (the YES side)" in html
    assert '<svg class="evidence-strip"' in html and "threshold 0.03" in html
    assert html.count('class="side-yes"') == 8 and html.count('class="side-no"') == 2
    assert f'href="/markets/{market.pk}/evidence.csv"' in html and 'href="/factor/#matrix"' in html
    # the default preset trains longer and wider than the survey: the page says so
    assert 'id="evidence-outside"' in html and "<code>steps</code>" in html
    panel = html.split('id="evidence"')[1].split("<h3>A. ")[0]
    assert "<style" not in panel and "style=" not in panel and "<script" not in panel


def test_a_market_on_a_task_without_survey_rows_says_so(client, survey):
    spec = {
        "concept": "A",
        "task": "modadd",
        "arch": "transformer",
        "preset": "tiny",
        "seeds": 4,
        "params": {"p": 31},
    }
    market = MarketFactory(spec=spec, threshold=0.02)
    html = client.get(f"/markets/{market.pk}/").content.decode()
    assert 'id="evidence-empty"' in html and "No survey rows for modadd yet" in html
    assert "evidence-chart" not in html


def test_the_csv_holds_the_nearest_rows_with_their_parameters(client, survey):
    market = MarketFactory(threshold=0.03)
    response = client.get(f"/markets/{market.pk}/evidence.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith(f"# pathmarket evidence for market {market.pk}: dis_ood >= 0.03")
    rows = list(csv.DictReader(io.StringIO("\n".join(line for line in lines if not line.startswith("#")))))
    assert len(rows) == 10 and rows[0]["rank"] == "1" and rows[0]["source"] == "survey"
    assert {r["side"] for r in rows} == {"yes", "no"} and "p_noise" in rows[0]
    assert sorted(float(r["value"]) for r in rows) == [v / 100 for v in range(1, 11)]
    assert client.get("/markets/999999/evidence.csv").status_code == 404


def test_the_api_returns_the_same_panel_to_anyone(client, survey):
    market = MarketFactory(threshold=0.03)
    body = client.get(f"/api/v1/markets/{market.pk}/evidence/").json()
    assert body["market_id"] == market.pk and body["statistic"] == "dis_ood"
    assert (
        body["summary"]["n"] == 10 and body["summary"]["n_yes"] == 8 and body["summary"]["share_yes"] == 0.8
    )
    assert body["headline"].startswith("80% of the 10 nearest settings")
    assert body["warning"] is None and body["message"] == ""
    assert body["rows"][0]["source"] == "survey" and body["rows"][0]["campaign"] == "survey-test"
    assert body["links"]["csv"] == f"/markets/{market.pk}/evidence.csv"
    assert [a["name"] for a in body["nearness"]["axes"]]


def test_the_api_answers_404_for_an_unknown_market(client):
    response = client.get("/api/v1/markets/999999/evidence/")
    assert response.status_code == 404 and "detail" in response.json()


def test_the_schema_documents_the_evidence_endpoint(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/markets/{id}/evidence/"]["get"]
    assert {"200", "404"} <= set(operation["responses"])
    assert "evidence_warning" in schema["components"]["schemas"]["Proposal"]["properties"]


def _proposal(user, threshold):
    return proposal_create(proposer=user, data=proposal_body(threshold=threshold))


def test_staff_see_a_warning_at_review_when_the_threshold_is_outside_the_range(client, staff, user, survey):
    proposal = _proposal(user, 0.5)  # every nearby dis_ood is at most 0.10
    client.force_login(staff)
    html = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert 'id="evidence-warning"' in html and "this question looks foregone" in html
    assert "lies above the highest dis_ood of the 10 nearest settings" in html
    client.force_login(user)  # the proposer does not get the staff check
    assert 'id="evidence-warning"' not in client.get(f"/proposals/{proposal.pk}/").content.decode()


def test_no_warning_at_review_when_the_threshold_is_inside_the_range(client, staff, user, survey):
    proposal = _proposal(user, 0.05)
    client.force_login(staff)
    html = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert 'id="evidence-warning"' not in html
    assert 'id="evidence-check"' in html and "No foregone-conclusion warning" in html


def test_the_api_approve_response_carries_the_warning(staff, user, survey):
    foregone, fine = _proposal(user, 0.5), _proposal(user, 0.05)
    api = token_client(staff)
    body = api.post(f"/api/v1/proposals/{foregone.pk}/approve/").json()
    assert body["proposal"]["evidence_warning"]["code"] == "outside_range"
    assert api.get(f"/api/v1/proposals/{fine.pk}/").json()["evidence_warning"] is None
    assert api.post(f"/api/v1/proposals/{fine.pk}/approve/").json()["proposal"]["evidence_warning"] is None


def test_a_market_own_runs_are_not_its_evidence(client, survey):
    from experiments.models import ExperimentRun
    from market.models import MarketRun

    market = MarketFactory(threshold=0.03)
    own = ExperimentRun.objects.create(
        spec=market.spec,
        spec_sha256=market.spec_sha256,
        status="succeeded",
        statistic=0.5,
        statistic_name="dis_ood",
        ci_low=0.4,
        ci_high=0.6,
    )
    MarketRun.objects.create(run=own, market=market)
    other = market_open(
        title="Same setting, other seeds",
        concept="A",
        question="?",
        spec={**market.spec, "seed_offset": 100},
        statistic="dis_ood",
        comparator=">=",
        threshold=0.03,
        close_time=market.close_time,
    )
    run = ExperimentRun.objects.create(
        spec=other.spec,
        spec_sha256=other.spec_sha256,
        status="succeeded",
        statistic=0.2,
        statistic_name="dis_ood",
    )
    MarketRun.objects.create(run=run, market=other)
    rows = client.get(f"/api/v1/markets/{market.pk}/evidence/").json()["rows"]
    assert [r["run_id"] for r in rows if r["source"] == "run"] == [run.pk]
    assert rows[0]["run_id"] == run.pk and rows[0]["distance"] == 0.0  # the very same setting comes first


def test_the_review_command_lists_markets_and_flags_the_foregone(survey):
    from django.core.management import call_command

    fine, foregone = MarketFactory(threshold=0.05), MarketFactory(threshold=0.5)
    out = io.StringIO()
    call_command("evidence_review", stdout=out)
    lines = out.getvalue().splitlines()
    assert any(line.startswith(f"#{fine.pk} ") and "n=10 yes=60%" in line and "FOREGONE" not in line
               for line in lines)
    assert any(line.startswith(f"#{foregone.pk} ") and "FOREGONE (outside_range)" in line for line in lines)
    out = io.StringIO()
    call_command("evidence_review", "--foregone", "--json", stdout=out)
    assert [m["market_id"] for m in json.loads(out.getvalue())] == [foregone.pk]
