"""The Proposal admin: read-only rows, approve and reject (with a reason) as actions."""
import pytest

from market.models import Market, MarketStatus
from proposals.models import ProposalStatus
from proposals.services import proposal_create
from tests.market.factories import UserFactory
from tests.proposals.support import proposal_body

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/proposals/proposal/"


@pytest.fixture
def admin_user(db):
    return UserFactory(is_staff=True, is_superuser=True)


def test_the_changelist_lists_proposals(client, admin_user, user):
    proposal = proposal_create(proposer=user, data=proposal_body())
    client.force_login(admin_user)
    html = client.get(CHANGELIST).content.decode()
    assert proposal.title in html and "Reject with a reason" in html
    assert client.get(f"{CHANGELIST}add/").status_code == 403  # proposals come from users, not the admin


def test_approve_action_opens_the_market(client, admin_user, user):
    proposal = proposal_create(proposer=user, data=proposal_body())
    client.force_login(admin_user)
    response = client.post(CHANGELIST, {"action": "approve_proposals", "_selected_action": [proposal.pk]}, follow=True)
    assert "Approved 1 proposal(s)." in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.APPROVED
    assert Market.objects.get(pk=proposal.market_id).status == MarketStatus.OPEN


def test_reject_action_asks_for_a_reason_first(client, admin_user, user):
    proposal = proposal_create(proposer=user, data=proposal_body())
    client.force_login(admin_user)
    page = client.post(CHANGELIST, {"action": "reject_proposals", "_selected_action": [proposal.pk]})
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    client.post(CHANGELIST, {"action": "reject_proposals", "_selected_action": [proposal.pk], "apply": "Reject",
                             "reason": "Not resolvable as stated."})
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.REJECTED and proposal.rejection_reason == "Not resolvable as stated."


def test_a_second_review_in_the_admin_is_refused_with_a_message(client, admin_user, user):
    proposal = proposal_create(proposer=user, data=proposal_body())
    client.force_login(admin_user)
    client.post(CHANGELIST, {"action": "approve_proposals", "_selected_action": [proposal.pk]})
    response = client.post(CHANGELIST, {"action": "approve_proposals", "_selected_action": [proposal.pk]}, follow=True)
    assert "already approved" in response.content.decode() and Market.objects.count() == 1


def test_the_admin_actions_are_closed_to_non_staff(client, user):
    proposal = proposal_create(proposer=user, data=proposal_body())
    client.force_login(user)
    response = client.post(CHANGELIST, {"action": "approve_proposals", "_selected_action": [proposal.pk]})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING and Market.objects.count() == 0


def test_old_admin_addresses_of_proposals_redirect_to_the_proposals_app(admin_client):
    response = admin_client.get("/admin/market/proposal/?status__exact=pending")
    assert response.status_code == 301
    assert response["Location"] == "/admin/proposals/proposal/?status__exact=pending"
