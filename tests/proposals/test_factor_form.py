"""/proposals/new/factor/: a factor market (concept g, a survey campaign) proposed from the website, its
proposal page for the proposer and for staff, and staff approval opening the sealed factor market."""
from datetime import timedelta

import pytest
from django.utils import timezone

from experiments.survey import campaign_spec
from market.models import Market, MarketCampaign
from proposals.models import Proposal, ProposalStatus
from tests.market.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/proposals/new/factor/"


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True)


def form_data(**overrides) -> dict:
    """A valid POST of the factor form: a tiny two-task campaign on G's loading."""
    data = {
        "title": "Does G load on the general factor of tiny MLPs?",
        "text": "A *tiny* survey: does **G** load on PC1?",
        "tasks": ["digits", "lms"], "rows": "12", "row_budget": "24", "preset": "tiny",
        "statistic": "loading", "concept_a": "G", "concept_b": "",
        "axes": "steps=30:40\r\nwidth=16:16\r\n\r\n", "comparator": ">=", "threshold": "0.2",
        "close_time": (timezone.now() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M"), "liquidity": "",
    }
    data.update(overrides)
    return data


def _errors_of(html: str, input_id: str) -> str:
    """The text between an input's id and the next label (the tasks: their fieldset's end), where the form
    prints that input's errors."""
    start = html.index(f'id="{input_id}"')
    end = html.find("</fieldset>" if input_id == "tasks" else "<label", start)
    return html[start:end if end > 0 else len(html)]


def test_the_factor_form_needs_a_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_factor_form_shows_tasks_bounds_statistics_concepts_and_default_axes(client, user):
    client.force_login(user)
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    for task in ("digits", "lms", "sparse_parity"):  # every survey task, checked by default
        assert f'value="{task}"' in html
    assert html.count('name="tasks"') == 3 and html.count("checked") >= 3
    assert f"3 … {campaign_spec.max_rows()}" in html
    for name in campaign_spec.FACTOR_STATISTICS:
        assert f'<option value="{name}"' in html and f"<dt>{name}</dt>" in html
    assert "G. " in html and 'id="concept_b"' in html
    assert "<code>digits.steps</code> 150–500 (log)" in html
    assert "<code>digits.optimizer</code> adam|adamw" in html
    assert "csrfmiddlewaretoken" in html


def test_a_valid_factor_form_creates_a_pending_campaign_proposal(client, user):
    client.force_login(user)
    response = client.post(URL, form_data())
    proposal = Proposal.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/proposals/{proposal.pk}/"
    assert proposal.status == ProposalStatus.PENDING and proposal.concept == "g"
    spec = proposal.spec
    assert spec["kind"] == "survey_campaign" and spec["tasks"] == ["digits", "lms"]
    assert spec["rows"] == 12 and spec["row_budget"] == 24 and spec["preset"] == "tiny"
    assert spec["concepts"] == ["G"] and spec["axis_overrides"] == ["steps=30:40", "width=16:16"]
    assert spec["axes"]["digits"]["steps"] == {"kind": "int", "low": 30.0, "high": 40.0, "log": True}
    assert "design_seed_commitment" not in spec
    assert proposal.statistic == "loading_G" and proposal.threshold == 0.2 and proposal.comparator == ">="
    assert proposal.spec_sha256 == campaign_spec.spec_sha256(spec)
    assert proposal.estimated_cost["flops"] > 0


def test_sign_agreement_takes_both_concepts_and_pc1_share_none(client, user):
    client.force_login(user)
    sign_form = form_data(statistic="sign_agreement", concept_a="A", concept_b="E")
    assert client.post(URL, sign_form).status_code == 302
    assert client.post(URL, form_data(statistic="pc1_share", concept_a="C", concept_b="D",
                                      title="Is there a general factor at all?")).status_code == 302
    sign, share = Proposal.objects.order_by("pk")
    assert sign.statistic == "sign_agreement_A_E" and sign.spec["concepts"] == ["A", "E"]
    assert share.statistic == "pc1_share" and share.spec["concepts"] == []  # the selects are ignored


@pytest.mark.parametrize(("change", "input_id", "words"), [
    ({"rows": "100000"}, "rows", "must be from 3 to"),
    ({"row_budget": "6"}, "row_budget", "must be from 12 to"),
    ({"axes": "colour=1:2"}, "axes", "colour"),
    ({"axes": "steps=0:10"}, "axes", "steps: "),
    ({"axes": "just words"}, "axes", "[task.]name=low:high"),
    ({"statistic": "loading", "concept_a": ""}, "concept_a", "loading takes 1 concept"),
    ({"statistic": "sign_agreement", "concept_a": "A", "concept_b": "A"}, "concept_b",
     "two different concepts"),
    ({"statistic": "eigenvalue"}, "statistic", "is not a factor statistic"),
    ({"tasks": []}, "tasks", "non-empty list of survey tasks"),
    ({"title": "short"}, "title", "at least 8 characters"),
])
def test_bad_inputs_come_back_400_with_the_message_on_their_input(client, user, change, input_id, words):
    client.force_login(user)
    response = client.post(URL, form_data(**change))
    html = response.content.decode()
    assert response.status_code == 400 and Proposal.objects.count() == 0
    assert words in _errors_of(html, input_id), _errors_of(html, input_id)[:2000]
    assert 'class="errorlist"' in _errors_of(html, input_id)


def test_an_axis_outside_the_registry_names_the_axis_and_the_range(client, user):
    client.force_login(user)
    html = client.post(URL, form_data(axes="steps=0:10")).content.decode()
    box = _errors_of(html, "axes")
    assert "steps: " in box and ("log scale" in box or "registry range" in box)
    assert "steps=0:10</textarea>" in html  # the posted lines are kept


def test_the_proposal_page_of_a_campaign_renders_for_the_proposer_and_for_staff(client, user, staff):
    client.force_login(user)
    client.post(URL, form_data())
    proposal = Proposal.objects.get()
    html = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert "survey_campaign" in html and "loading_G" in html and "<code>0.2</code>" in html
    assert "first stage's 12 rows" in html and "row budget of 24" in html and "CPU seconds" in html
    assert 'id="no-dry-run"' in html and 'id="dry-run-button"' not in html
    assert 'id="approve-button"' not in html
    client.force_login(staff)
    html = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert 'id="approve-button"' in html and 'id="reject-button"' in html and "loading_G" in html
    assert 'id="evidence-check"' in html or 'id="evidence-warning"' in html  # the foregone check ran


def test_staff_approve_a_campaign_proposal_into_a_factor_market_with_a_seed_commitment(client, user, staff):
    client.force_login(user)
    client.post(URL, form_data())
    proposal = Proposal.objects.get()
    client.force_login(staff)
    response = client.post(f"/proposals/{proposal.pk}/approve/")
    assert response.status_code == 302 and response["Location"] == f"/proposals/{proposal.pk}/"
    proposal.refresh_from_db()
    market = Market.objects.get(pk=proposal.market_id)
    assert proposal.status == ProposalStatus.APPROVED
    assert market.concept == "g" and market.statistic == "loading_G" and market.status == "open"
    commitment = market.spec["design_seed_commitment"]
    link = MarketCampaign.objects.get(market=market)
    assert campaign_spec.seed_commitment(link.design_seed, link.salt) == commitment
    assert {k: v for k, v in market.spec.items() if k != "design_seed_commitment"} == proposal.spec
    html = client.get(f"/proposals/{proposal.pk}/", follow=True).content.decode()
    assert f"market #{market.pk}" in html
    factor_page = client.get("/factor/").content.decode()  # the "Bet on it" card lists it, and links the form
    assert f'href="/markets/{market.pk}/"' in factor_page and 'id="factor-markets-propose"' in factor_page


def test_the_pages_link_to_the_factor_form(client, user):
    client.force_login(user)
    assert 'href="/proposals/new/factor/"' in client.get("/proposals/new/").content.decode()
    html = client.get("/factor/").content.decode()
    assert 'id="propose-factor-link"' in html
