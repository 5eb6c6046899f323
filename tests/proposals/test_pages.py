"""Proposal pages: the form (catalog, bounds, cost, per-field errors), the lists, review and dry run."""
from datetime import timedelta

import pytest
from django.utils import timezone

from experiments.models import ExperimentRun
from market.models import Market
from proposals.models import Proposal, ProposalStatus
from proposals.services import proposal_create, proposal_reject
from tests.market.factories import UserFactory
from tests.proposals.support import proposal_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True)


@pytest.fixture
def proposal(user):
    return proposal_create(proposer=user, data=proposal_body())


def form_data(**overrides) -> dict:
    data = {
        "concept": "A", "title": "Do digits MLPs disagree off-distribution?", "text": "Seeds *disagree*.",
        "task": "digits", "arch": "mlp", "preset": "tiny", "seeds": "8", "seed_budget": "",
        "param_steps": "120", "param_noise": "", "comparator": ">=", "threshold": "0.03",
        "close_time": (timezone.now() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M"), "liquidity": "",
    }
    data.update(overrides)
    return data


def test_the_form_needs_a_login(client):
    response = client.get("/proposals/new/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_form_shows_the_registry_choices_bounds_and_estimated_cost(client, user):
    client.force_login(user)
    html = client.get("/proposals/new/?concept=A&task=digits").content.decode()
    assert 'id="registry-catalog"' in html and 'name="param_steps"' in html
    assert "int in [1, 100000]" in html  # the steps bounds from the registry
    assert 'id="cost-flops"' in html and "CPU seconds" in html
    assert '<code id="statistic">dis_ood</code>' in html


def test_choosing_another_concept_without_javascript_redraws_the_parameters(client, user):
    client.force_login(user)
    response = client.post("/proposals/new/", form_data(concept="B", task="digits", refresh="1"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="param_change"' in html and "dis_ratio" in html
    assert Proposal.objects.count() == 0


def test_a_valid_form_creates_the_proposal(client, user):
    client.force_login(user)
    response = client.post("/proposals/new/", form_data())
    proposal = Proposal.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/proposals/{proposal.pk}/"
    assert proposal.proposer == user and proposal.spec["params"]["steps"] == 120
    assert proposal.spec["params"]["noise"] == 0.3  # empty box: the preset's value
    assert proposal.statistic == "dis_ood" and proposal.liquidity == 100.0


def test_server_side_errors_are_shown_next_to_each_input(client, user):
    client.force_login(user)
    response = client.post("/proposals/new/", form_data(threshold="abc"))
    assert response.status_code == 400 and "Enter a number." in response.content.decode()
    response = client.post("/proposals/new/", form_data(param_steps="999999999", title="short"))
    html = response.content.decode()
    assert response.status_code == 400
    assert "expected an integer in [1, 100000]" in html  # under the steps box
    assert "title must have at least 8 characters" in html
    response = client.post("/proposals/new/", form_data(seeds="100000"))
    assert response.status_code == 400 and "100000 is not valid for seeds" in response.content.decode()
    assert Proposal.objects.count() == 0


def test_the_proposer_sees_status_and_rejection_reason(client, user, staff, proposal):
    proposal_reject(proposal=proposal, reviewer=staff, reason="Needs a clearer threshold.")
    client.force_login(user)
    html = client.get("/proposals/").content.decode()
    assert "Needs a clearer threshold." in html and "rejected" in html
    assert 'id="review-queue"' not in html
    detail = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert 'id="rejection-reason"' in detail and 'id="approve-button"' not in detail


def test_staff_see_the_review_queue_and_approve_from_it(client, staff, proposal):
    client.force_login(staff)
    html = client.get("/proposals/").content.decode()
    assert 'id="review-queue"' in html and proposal.title in html
    response = client.post(f"/proposals/{proposal.pk}/approve/", {"next": "/proposals/"})
    assert response.status_code == 302 and response["Location"] == "/proposals/"
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.APPROVED
    assert Market.objects.get().spec_sha256 == proposal.spec_sha256


def test_staff_reject_from_the_page_with_a_reason(client, staff, proposal):
    client.force_login(staff)
    client.post(f"/proposals/{proposal.pk}/reject/", {"reason": ""})
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING  # a reason is required
    client.post(f"/proposals/{proposal.pk}/reject/", {"reason": "Out of scope."})
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.REJECTED and proposal.rejection_reason == "Out of scope."


def test_non_staff_cannot_review_and_cannot_see_others_proposals(client, user, other_user, proposal):
    client.force_login(user)
    assert client.post(f"/proposals/{proposal.pk}/approve/").status_code == 403
    assert client.post(f"/proposals/{proposal.pk}/reject/", {"reason": "x"}).status_code == 403
    client.force_login(other_user)
    assert client.get(f"/proposals/{proposal.pk}/").status_code == 404
    assert client.post(f"/proposals/{proposal.pk}/dry_run/").status_code == 404
    assert proposal.title not in client.get("/proposals/").content.decode()
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING and ExperimentRun.objects.count() == 0


def test_the_proposer_queues_a_dry_run_and_the_page_polls_its_progress(client, user, proposal):
    client.force_login(user)
    response = client.post(f"/proposals/{proposal.pk}/dry_run/")
    assert response.status_code == 302
    run = ExperimentRun.objects.get()
    html = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert f'data-run="{run.pk}"' in html and "run_progress.js" in html and 'id="dry-run-bar"' in html


def test_review_actions_are_post_only(client, staff, proposal):
    client.force_login(staff)
    assert client.get(f"/proposals/{proposal.pk}/approve/").status_code == 405
    assert client.get(f"/proposals/{proposal.pk}/dry_run/").status_code == 405


def test_the_market_page_shows_the_approved_question_as_sanitised_markdown(client, user, staff):
    from proposals.services import proposal_approve

    body = proposal_body(text="Do seeds **disagree**? See [the essay](https://example.org/).\n\n<script>x()</script>")
    market = proposal_approve(proposal=proposal_create(proposer=user, data=body), reviewer=staff)
    html = client.get(f"/markets/{market.pk}/").content.decode()
    question = html.split('id="market-question">')[1].split("</div>")[0]
    assert "<strong>disagree</strong>" in question
    assert '<a href="https://example.org/" rel="nofollow noopener noreferrer">the essay</a>' in question
    assert "<script>" not in question and "&lt;script&gt;x()&lt;/script&gt;" in question
