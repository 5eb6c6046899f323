"""Proposals API (docs/proposals.md): submit, list, approve, reject, dry run, catalog and cost estimate."""
import pytest
from rest_framework.test import APIClient

from experiments.models import ExperimentRun
from market.models import Market
from proposals.models import Proposal
from proposals.services import proposal_create
from tests.market.factories import UserFactory
from tests.proposals.support import proposal_body, token_client, with_params

pytestmark = pytest.mark.django_db
URL = "/api/v1/proposals/"


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True)


@pytest.fixture
def proposer(user):
    return token_client(user)


@pytest.fixture
def reviewer(staff):
    return token_client(staff)


@pytest.fixture
def proposal(user):
    return proposal_create(proposer=user, data=proposal_body())


def test_a_proposal_is_created_pending(proposer, user):
    response = proposer.post(URL, proposal_body(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["proposer"] == user.username
    assert {"id", "concept", "title", "text", "text_html", "spec", "spec_sha256", "statistic", "comparator",
            "threshold", "close_time", "liquidity", "estimated_cost", "rejection_reason", "market_id",
            "dry_run_id"} <= body.keys()
    assert body["spec"]["params"]["steps"] == 120 and len(body["spec_sha256"]) == 64
    assert "<strong>do they disagree</strong>" in body["text_html"]
    assert Proposal.objects.get(pk=body["id"]).proposer == user


def test_bad_fields_get_one_message_each_and_nothing_is_stored(proposer):
    body = with_params(steps=0)
    body.update(comparator="=>", threshold="high")
    response = proposer.post(URL, body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"spec.params.steps", "comparator", "threshold"}
    assert all(isinstance(m, list) and len(m) == 1 for m in errors.values())
    assert response.json()["detail"]
    assert Proposal.objects.count() == 0


def test_anonymous_users_cannot_propose(db):
    response = APIClient().post(URL, proposal_body(), format="json")
    assert response.status_code == 401 and "detail" in response.json()


def test_each_user_lists_only_their_own_proposals_and_staff_see_all(user, other_user, proposer, reviewer):
    mine = proposal_create(proposer=user, data=proposal_body())
    theirs = proposal_create(proposer=other_user, data=proposal_body())
    assert [p["id"] for p in proposer.get(URL).json()["results"]] == [mine.pk]
    assert {p["id"] for p in reviewer.get(URL).json()["results"]} == {mine.pk, theirs.pk}
    assert proposer.get(f"{URL}{theirs.pk}/").status_code == 404
    assert proposer.get(f"{URL}{mine.pk}/").json()["id"] == mine.pk
    assert reviewer.get(f"{URL}?status=rejected").json()["count"] == 0
    assert reviewer.get(f"{URL}?status=bogus").status_code == 400


def test_only_staff_approve_and_approval_returns_the_market(proposal, proposer, reviewer, other_user):
    for client in (proposer, token_client(other_user)):
        response = client.post(f"{URL}{proposal.pk}/approve/")
        assert response.status_code == 403 and response.json()["detail"]
    assert APIClient().post(f"{URL}{proposal.pk}/approve/").status_code == 401
    assert Market.objects.count() == 0
    response = reviewer.post(f"{URL}{proposal.pk}/approve/")
    assert response.status_code == 200, response.json()
    market_id = response.json()["market_id"]
    market = APIClient().get(f"/api/v1/markets/{market_id}/").json()
    assert market["status"] == "open" and market["spec_sha256"] == proposal.spec_sha256
    assert market["spec"] == proposal.spec and market["statistic"] == "dis_ood"
    assert proposer.get(f"{URL}{proposal.pk}/").json()["market_id"] == market_id
    again = reviewer.post(f"{URL}{proposal.pk}/approve/")
    assert again.status_code == 409 and "already approved" in again.json()["detail"]


def test_reject_needs_a_reason_that_the_proposer_then_sees(proposal, proposer, reviewer):
    assert proposer.post(f"{URL}{proposal.pk}/reject/", {"reason": "mine"}, format="json").status_code == 403
    response = reviewer.post(f"{URL}{proposal.pk}/reject/", {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["errors"]
    response = reviewer.post(f"{URL}{proposal.pk}/reject/", {"reason": "Duplicate of market 3."}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    seen = proposer.get(URL).json()["results"][0]
    assert seen["status"] == "rejected" and seen["rejection_reason"] == "Duplicate of market 3."


def test_unknown_ids_are_404(proposer, reviewer):
    assert proposer.get(f"{URL}999999/").status_code == 404
    assert reviewer.post(f"{URL}999999/approve/").status_code == 404
    assert proposer.post(f"{URL}999999/dry_run/").status_code == 404


def test_a_dry_run_is_queued_and_its_progress_is_readable(proposal, proposer):
    response = proposer.post(f"{URL}{proposal.pk}/dry_run/")
    assert response.status_code == 202, response.json()
    run_id = response.json()["run_id"]
    assert response.json()["progress_url"] == f"/api/v1/runs/{run_id}/"
    run = ExperimentRun.objects.get(pk=run_id)
    assert run.purpose == "dry_run" and run.spec["preset"] == "tiny"
    progress = proposer.get(f"/api/v1/runs/{run_id}/").json()
    assert progress["status"] == "queued" and progress["progress"] == 0.0
    assert proposer.get(f"{URL}{proposal.pk}/").json()["dry_run_id"] == run_id


def test_other_users_cannot_dry_run_someone_elses_proposal(proposal, other_user):
    response = token_client(other_user).post(f"{URL}{proposal.pk}/dry_run/")
    assert response.status_code == 404
    assert ExperimentRun.objects.count() == 0


def test_dry_run_after_review_is_a_conflict(proposal, proposer, reviewer):
    reviewer.post(f"{URL}{proposal.pk}/reject/", {"reason": "no"}, format="json")
    response = proposer.post(f"{URL}{proposal.pk}/dry_run/")
    assert response.status_code == 409 and "rejected" in response.json()["detail"]


def test_the_catalog_lists_concepts_tasks_and_bounds(db):
    body = APIClient().get(f"{URL}catalog/").json()
    steps = body["A"]["tasks"]["digits"]["params"]["steps"]
    assert body["A"]["statistic"] == "dis_ood" and steps["min"] == 1 and steps["max"] >= steps["default"]


def test_the_estimate_validates_a_spec_and_returns_its_cost(proposer):
    response = proposer.post(f"{URL}estimate/", {"spec": proposal_body()["spec"]}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["statistic"] == "dis_ood" and body["cost"]["flops"] > 0 and body["spec"]["seeds"] == 8
    response = proposer.post(f"{URL}estimate/", {"spec": {"concept": "A", "task": "digits", "params": {"steps": -5}}},
                             format="json")
    assert response.status_code == 400 and "spec.params.steps" in response.json()["errors"]


def test_proposals_reject_form_encoded_bodies(proposer):
    response = proposer.post(URL, {"concept": "A"})  # multipart: the spec is a nested object, JSON only
    assert response.status_code == 415 and response.json()["detail"]
    assert Proposal.objects.count() == 0
