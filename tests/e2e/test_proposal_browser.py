"""Headless Chromium (Debian's) against the live server: a new user registers and proposes an experiment
(seeing the live cost estimate), a staff user approves it in the review queue, and the proposer forecasts on
the market that approval opened and sees the new price."""
import re

import pytest
from playwright.sync_api import expect

from experiments.models import ExperimentRun
from market.models import Market, MarketStatus
from proposals.models import Proposal, ProposalStatus
from proposals.services import proposal_create, proposal_dry_run
from tests.market.factories import UserFactory
from tests.proposals.support import proposal_body

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TITLE = "Do tiny digits MLPs disagree off-distribution?"


def test_propose_approve_and_forecast_on_the_new_market(page, browser, live_server):
    staff = UserFactory(is_staff=True, username="reviewer")

    # 1. Register.
    page.goto(f"{live_server.url}/accounts/register/?next=/proposals/new/")
    page.fill("#id_username", "proposer")
    page.fill("#id_password1", "a-long-Passphrase-2026")
    page.fill("#id_password2", "a-long-Passphrase-2026")
    page.click("button[type=submit]")
    page.wait_for_url("**/proposals/new/")

    # 2. Propose: the form draws the registry's parameters with their bounds and a live cost estimate.
    page.fill("#title", TITLE)
    page.fill("#text", "Eight seeds of a **small MLP**: do they disagree on noisy digits?")
    page.select_option("#concept", "B")
    page.wait_for_selector("#param_change")  # concept B's own parameter appears without a reload
    assert page.inner_text("#statistic") == "dis_ratio"
    page.select_option("#concept", "A")
    expect(page.locator("#param_change")).to_have_count(0)
    page.select_option("#task", "digits")
    page.select_option("#arch", "mlp")
    page.select_option("#preset", "tiny")
    page.fill("#seeds", "8")
    page.fill("#param_steps", "999999")  # above the bound: the estimate explains it at once
    expect(page.locator("#cost-error")).to_contain_text("steps")
    page.fill("#param_steps", "120")
    page.wait_for_selector("#cost-text")
    assert "FLOPs" in page.inner_text("#cost-text")
    page.select_option("#comparator", ">=")
    page.fill("#threshold", "0.03")
    page.click("#propose-submit")
    page.wait_for_url(re.compile(r".*/proposals/\d+/$"))
    proposal = Proposal.objects.get(title=TITLE)
    assert page.inner_text("#proposal-status") == "pending review"
    assert "<strong>small MLP</strong>" in page.inner_html("#proposal-text")
    assert proposal.spec["params"]["steps"] == 120 and proposal.spec["seeds"] == 8

    # 3. Staff approve it from the review queue (a second browser session).
    staff_context = browser.new_context()
    try:
        review = staff_context.new_page()
        review.set_default_timeout(15_000)
        review.goto(f"{live_server.url}/accounts/login/?next=/proposals/")
        review.fill("#id_username", staff.username)
        review.fill("#id_password", "pw-test-2026")
        review.click("button[type=submit]")
        review.wait_for_url("**/proposals/")
        review.click(f"#review-queue tr[data-proposal='{proposal.pk}'] button:has-text('Approve')")
        review.wait_for_selector(".messages li.success")
        assert "is open" in review.inner_text(".messages")
    finally:
        staff_context.close()
    proposal.refresh_from_db()
    market = Market.objects.get(pk=proposal.market_id)
    assert proposal.status == ProposalStatus.APPROVED and market.status == MarketStatus.OPEN
    assert market.spec_sha256 == proposal.spec_sha256

    # 4. The proposer sees the approval, opens the new market and forecasts on it.
    page.goto(f"{live_server.url}/proposals/")
    assert "approved" in page.inner_text(f"#my-proposals tr[data-proposal='{proposal.pk}']")
    page.click(f"#my-proposals tr[data-proposal='{proposal.pk}'] a:has-text('market #{market.pk}')")
    page.wait_for_url(f"**/markets/{market.pk}/")
    assert page.inner_text("#market-probability") == "50.0%"
    assert proposal.spec_sha256 in page.inner_text("#spec-sha256")
    page.fill("#percent", "70")
    page.click("#forecast-submit")
    page.wait_for_url(re.compile(rf".*/markets/{market.pk}/(#forecast)?$"))
    assert page.inner_text("#market-probability") == "70.0%"
    assert "moved from 50.0% to 70.0%" in page.content()


def test_the_dry_run_progress_updates_without_reloading(page, live_server):
    user = UserFactory()
    proposal = proposal_create(proposer=user, data=proposal_body())
    run = proposal_dry_run(proposal=proposal, user=user)
    page.goto(f"{live_server.url}/accounts/login/?next=/proposals/{proposal.pk}/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-test-2026")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/proposals/{proposal.pk}/")
    assert page.inner_text("#dry-run-state") == "queued"
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    ExperimentRun.objects.filter(pk=run.pk).update(status="running", progress=0.5, message="trained 3 of 6 seeds")
    expect(page.locator("#dry-run-bar")).to_have_attribute("style", re.compile(r"width:\s*50%"), timeout=15_000)
    assert page.inner_text("#dry-run-message") == "trained 3 of 6 seeds"
    ExperimentRun.objects.filter(pk=run.pk).update(status="succeeded", progress=1.0, statistic=0.0412,
                                                   ci_low=0.03, ci_high=0.05, message="done")
    expect(page.locator("#dry-run-state")).to_have_text("succeeded", timeout=15_000)
    assert "0.0412" in page.inner_text("#dry-run-result")
    assert page.evaluate("window.__sameDocument") is True
