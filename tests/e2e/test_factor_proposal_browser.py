"""Headless Chromium (Debian's) on /proposals/new/factor/ at a desktop's and a phone's width: a logged-in user
reaches the form from /proposals/new/, fills it (tasks, rows, statistic with its concept, an axis override),
submits, and lands on the proposal's page with the campaign spec and its estimated compute; the page never
scrolls sideways and loads under the site's CSP."""
import re

import pytest

from proposals.models import Proposal
from tests.market.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TITLE = "Does G load on the general factor of tiny MLPs?"


def _fits(page, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page is {scroll}px wide on a {width}px screen"


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_propose_a_factor_market_from_the_form(browser, live_server, width, height):
    user = UserFactory(username="forecaster")
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    # Console errors (CSP reports among them); the deliberate 400 of the bad axis is Chromium's one expected
    # "Failed to load resource" line, and any other failed response is caught by the second listener.
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" and "status of 400" not in m.text else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith(("/favicon.ico", "/proposals/new/factor/")) else None)
    try:
        page.goto(f"{live_server.url}/accounts/login/?next=/proposals/new/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", "pw-test-2026")
        page.click("button[type=submit]")
        page.wait_for_url("**/proposals/new/")
        page.click("#factor-proposal-link")
        page.wait_for_url("**/proposals/new/factor/")
        _fits(page, width)
        assert page.is_checked("input[name=tasks][value=sparse_parity]")  # all tasks by default

        # A bad axis first: the server names it under the axes box, and keeps what was typed.
        page.fill("#title", TITLE)
        page.fill("#text", "A *tiny* survey: does **G** load on PC1?")
        page.uncheck("input[name=tasks][value=sparse_parity]")
        page.fill("#rows", "12")
        page.fill("#row_budget", "24")
        page.select_option("#preset", "tiny")
        page.select_option("#statistic", "loading")
        page.select_option("#concept_a", "G")
        page.fill("#axes", "steps=0:10")
        page.select_option("#comparator", ">=")
        page.fill("#threshold", "0.2")
        page.click("#propose-submit")
        page.wait_for_selector("#id_axes_error")
        assert "steps" in page.inner_text("#id_axes_error")
        assert page.input_value("#title") == TITLE and page.input_value("#concept_a") == "G"
        assert not page.is_checked("input[name=tasks][value=sparse_parity]")
        _fits(page, width)

        page.fill("#axes", "steps=30:40\nwidth=16:16")
        page.click("#propose-submit")
        page.wait_for_url(re.compile(r".*/proposals/\d+/$"))
        proposal = Proposal.objects.get(title=TITLE)
        assert proposal.statistic == "loading_G" and proposal.spec["tasks"] == ["digits", "lms"]
        assert page.inner_text("#proposal-status") == "pending review"
        assert "<strong>G</strong>" in page.inner_html("#proposal-text")
        assert "loading_G" in page.content() and "survey_campaign" in page.content()
        assert "row budget of 24" in page.inner_text("#estimated-cost")
        _fits(page, width)
        assert problems == []
    finally:
        context.close()
        from django.db import connections

        connections.close_all()
