"""Headless Chromium (Debian's) on a market page with hand-made survey rows around its setting: the
"Evidence so far" panel loads under the site's CSP, draws its strip, fits a phone's width and opens
the table of the nearest rows."""

import json
from pathlib import Path

import pytest

from tests.experiments.evidence_support import survey_rows
from tests.market.factories import MarketFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DESIGN = Path(__file__).resolve().parents[2] / "data" / "survey" / "designs" / "survey-v2.json"


def _digits_rows() -> list[dict]:
    """The shipped design's digits rows, each with a made-up dis_ood that grows with noise and width."""
    rows = [r for r in json.loads(DESIGN.read_text())["rows"] if r["task"] == "digits"]
    out = []
    for r in rows:
        p = r["params"]
        value = round(0.004 + 0.09 * p["noise"] * (p["width"] / 64) ** 0.5, 4)
        out.append({"task": "digits", "params": p, "value": value, "ci": (value * 0.8, value * 1.2)})
    return out


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_the_evidence_panel_draws_and_fits_the_screen(browser, live_server, tmp_path, width, height):
    survey_rows(_digits_rows(), name="survey-v2-test")
    market = MarketFactory(threshold=0.03)
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    try:
        page.goto(f"{live_server.url}/markets/{market.pk}/")
        assert "of the 20 nearest settings have dis_ood ≥ 0.03" in page.inner_text("#evidence-headline")
        assert page.is_visible("#evidence-chart svg")
        box = page.locator("#evidence-chart svg").bounding_box()
        assert box["width"] > 300 and box["height"] > 40
        assert page.locator("#evidence-chart svg circle").count() == 20
        panel = page.evaluate(
            "(() => { const e = document.querySelector('#evidence');"
            " return [e.getBoundingClientRect().right, e.scrollWidth, e.clientWidth]; })()"
        )
        assert panel[0] <= width and panel[1] <= panel[2], f"the panel overflows a {width}px screen: {panel}"
        assert not page.is_visible("#evidence-rows")
        page.click("#evidence summary")
        assert page.locator("#evidence-rows tbody tr").count() == 20
        page.locator("#evidence").screenshot(path=str(tmp_path / f"evidence-{width}.png"))
        assert problems == []
    finally:
        context.close()
        from django.db import connections

        connections.close_all()
