"""The site on a phone (390×844, real Chromium): the top bar's links are visible and clickable, and no
page is wider than the screen; and an offline contrast and label check (tests/e2e/a11y_check.js, in place
of axe-core) finds no WCAG AA violation on the main pages, on a phone and on a desktop.

Set PATHMARKET_SCREENSHOT_DIR to also save a full-page screenshot of every page checked."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.utils import timezone

from experiments.models import ExperimentRun
from market.services import account_open, forecast_place, market_close, market_open
from social.services import comment_create, follow_set
from tests.experiments import pipeline_support
from tests.experiments.pipeline_support import tiny_market
from tests.market.factories import MarketFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
eager_celery = pipeline_support.eager_celery  # fixture
CHECK = (Path(__file__).parent / "a11y_check.js").read_text()
PASSWORD = "a-long-Passphrase-2026"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def world(eager_celery, django_capture_on_commit_callbacks):
    """A resolved market with a real (tiny) run and report, an open one with trades, comments and a follow."""
    resolved, traders = tiny_market()
    with django_capture_on_commit_callbacks(execute=True):
        market_close(market=resolved)
    run = ExperimentRun.objects.get(market_link__market=resolved)
    assert run.status == "succeeded", run.error
    user = get_user_model().objects.create_user("phone-user-with-a-long-name", password=PASSWORD)
    account_open(user=user)
    market = MarketFactory(title="Do eight digits MLPs disagree off-distribution under Gaussian noise?")
    forecast_place(user=user, market=market, probability=0.7)
    forecast_place(user=traders[0], market=market, probability=0.4)
    top = comment_create(
        author=user,
        market=market,
        body="70% — the **noise** probe is hard; see "
        "[Summers & Dinneen 2021](https://arxiv.org/abs/2103.00000).",
    )
    comment_create(
        author=traders[0], market=market, body="I doubt it: `dis_ood` was 0.01 last time.", parent_id=top.pk
    )
    follow_set(user=user, market=market, following=True)
    factor = market_open(  # a market on the general factor (docs/factor-markets.md), open: seed hidden
        title="Does PC1 carry at least a third of the variance on tiny MLPs?", concept="g",
        question="A factor?",
        spec={"kind": "survey_campaign", "preset": "tiny", "tasks": ["digits"], "rows": 3,
              "statistic": "pc1_share", "axes": {"steps": "30:40"}},
        statistic="pc1_share", comparator=">=", threshold=0.33, close_time=timezone.now() + timedelta(days=3))
    return {"user": user, "market": market, "resolved": resolved, "factor": factor}


def pages(world) -> list[str]:
    user = world["user"]
    return [
        "/",
        f"/markets/{world['market'].pk}/",
        f"/markets/{world['resolved'].pk}/",
        f"/markets/{world['resolved'].pk}/report/",
        "/leaderboard/",
        f"/users/{quote(user.username)}/",
        "/me/",
        "/me/notifications/settings/",
        "/?q=digits&sort=closing",
        f"/markets/{world['factor'].pk}/",
        f"/markets/{world['factor'].pk}/report/",
        "/proposals/new/factor/",
        "/factor/",
    ]


def login(page, base: str, user) -> None:  # noqa: ANN001
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/")


def shoot(page, name: str) -> None:  # noqa: ANN001
    folder = os.environ.get("PATHMARKET_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_on_a_phone_the_top_bar_works_and_no_page_is_wider_than_the_screen(browser, live_server, world):
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    try:
        login(page, live_server.url, world["user"])
        for url in pages(world):
            page.goto(live_server.url + url)
            shoot(page, "phone" + url.replace("/", "_").replace("?", "_"))
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{url} is {width}px wide on a 390px screen"
        # Every top-bar link and button sits inside the screen and inside the dark bar.
        page.goto(live_server.url + "/")
        bar = page.locator("header.topbar").bounding_box()
        links = page.locator("header.topbar a, header.topbar button")
        assert links.count() >= 8
        for i in range(links.count()):
            link = links.nth(i)
            assert link.is_visible(), link.inner_text()
            box = link.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], link.inner_text()
            assert bar["y"] <= box["y"] and box["y"] + box["height"] <= bar["y"] + bar["height"], (
                link.inner_text()
            )
        for name, path in (
            ("Leaderboard", "/leaderboard/"),
            ("Proposals", "/proposals/"),
            ("Portfolio", "/me/"),
            ("General factor", "/factor/"),
            ("Markets", "/"),
        ):
            page.locator("header.topbar").get_by_role("link", name=name, exact=True).click()
            page.wait_for_url(live_server.url + path)
        page.locator("#nav-notifications").click()
        page.wait_for_url(live_server.url + "/me/notifications/")
        page.locator("header.topbar").get_by_role("button", name="Log out").click()
        page.wait_for_url(live_server.url + "/")
        assert page.locator("header.topbar").get_by_role("link", name="Log in").is_visible()
    finally:
        context.close()
        connections.close_all()  # the test body's connections (see tests/conftest.py ``browser``)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_main_pages_pass_the_contrast_and_label_check(browser, live_server, world, viewport):
    context = browser.new_context(viewport=viewport, bypass_csp=True)
    page = context.new_page()
    try:
        anonymous = {
            url: page.goto(live_server.url + url) and page.evaluate(CHECK)
            for url in ("/", "/accounts/login/")
        }
        login(page, live_server.url, world["user"])
        found = dict(anonymous)
        for url in pages(world):
            page.goto(live_server.url + url)
            found[url] = page.evaluate(CHECK)
            if viewport is DESKTOP:
                shoot(page, "desktop" + url.replace("/", "_").replace("?", "_"))
        assert {url: v for url, v in found.items() if v} == {}
        # The check itself catches what the issue reported: 1.24:1 input borders, pale badges, no label.
        page.goto(live_server.url + "/")
        page.add_style_tag(
            content="input { border-color:#e4e7ec !important; } .badge { color:#b7c0cc !important; }"
        )
        page.evaluate("document.querySelector('label[for=search-q]').remove()")
        caught = "\n".join(page.evaluate(CHECK))
        assert "border of input#search-q" in caught and "text span.badge" in caught
        assert "field input#search-q has no label" in caught
        # The skip link is the first thing the keyboard reaches, and it lands on the main content.
        page.goto(live_server.url + "/")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link"
        assert page.locator("a.skip-link").is_visible()
    finally:
        context.close()
        connections.close_all()  # the test body's connections (see tests/conftest.py ``browser``)


def test_the_favicon_and_the_sites_own_404_page(client, db):
    from django.contrib.staticfiles import finders

    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.ico"
    assert Path(finders.find("favicon.ico")).read_bytes()[:4] == b"\x00\x00\x01\x00"  # an ICO file
    missing = client.get("/markets/999999/")
    assert (
        missing.status_code == 404 and b"Page not found" in missing.content and b"topbar" in missing.content
    )
