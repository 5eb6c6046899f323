"""Headless Chromium (Debian's) on a factor market's report (issue 14): a decided campaign's charts render
under the site's CSP and fit a desktop and a phone screen; a running campaign's progress updates live
from the API and the page reloads itself when the stage is decided."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from market.services import market_close
from tests.resolution.campaign_support import (
    cells_fill,
    factor_market_decided,
    factor_market_open,
    stage_decide,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _watch(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    return problems


def _close(context) -> None:
    context.close()
    from django.db import connections

    connections.close_all()


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_decided_campaign_report_renders_its_charts_within_the_screen(browser, live_server, width, height):
    market = factor_market_decided()
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    problems = _watch(page)
    try:
        page.goto(f"{live_server.url}/markets/{market.pk}/report/")
        assert page.inner_text("#commitment-check").startswith("✓")
        least_heights = {"#estimate-chart": 60, "#loadings-chart": 80, "#scree-chart": 80, "#decisions": 30}
        for chart, least in least_heights.items():
            box = page.locator(f"{chart} svg").first.bounding_box()
            assert box and box["width"] > 150 and box["height"] > least, f"{chart}: {box}"
            assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, f"{chart} overflows: {box}"
        assert page.locator("#rows-table tbody tr").count() == 8
        for selector in ("main", "body"):
            scroll = page.evaluate(f"document.querySelector('{selector}').scrollWidth")
            assert scroll <= width, f"{selector} is {scroll}px wide on a {width}px screen"
        assert problems == []
    finally:
        _close(context)


def test_running_campaign_progress_updates_live_then_the_decision_reloads_the_page(browser, live_server):
    market = factor_market_open(rows=4)
    market_close(market=market.pk)
    cells_fill(market=market, done=9, running=3)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = _watch(page)
    try:
        page.goto(f"{live_server.url}/markets/{market.pk}/report/")
        assert page.inner_text("#rows-done") == "1" and page.inner_text("#cells-done") == "9"
        cells_fill(market=market, done=24, running=2)
        # expect() polls from Playwright's own isolated world: the page's CSP forbids string evaluation.
        expect(page.locator("#cells-done")).to_have_text("24", timeout=15_000)
        assert page.inner_text("#rows-done") == "3" and page.inner_text("#cells-running") == "2"
        assert page.evaluate("document.getElementById('rows-progress').value") == 3
        cells_fill(market=market)
        stage_decide(market=market)
        page.wait_for_selector("#estimate", timeout=15_000)  # reloaded by the script
        assert page.inner_text("#market-status").lower() == "resolved"
        assert page.locator("#campaign-poll").count() == 0
        assert problems == []
    finally:
        _close(context)
