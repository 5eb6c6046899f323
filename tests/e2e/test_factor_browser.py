"""Headless Chromium (Debian's) on /factor/ with a 48-row synthetic survey whose only common variation is
the task: the page loads under the site's CSP, tells the visitor the factor only separates tasks, fits a
phone's width, and opens the full matrix on demand."""
import math

import pytest

from evaluator.services import factor_record
from experiments.concepts import LETTERS
from tests.evaluator.survey_frames import survey_frame

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_factor_page_shows_a_task_only_factor_and_fits_the_screen(browser, live_server, settings, width, height):
    settings.PATHMARKET = {**settings.PATHMARKET, "FACTOR_BOOTSTRAP": 200, "FACTOR_NULL": 200}
    for setup, row in survey_frame("task", 48).iterrows():
        for c in LETTERS:
            if not math.isnan(row[c]):
                factor_record(setup=setup, task=row["task"], arch="mlp", concept=c, statistic=float(row[c]),
                              run_id=None, source="suite")
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    try:
        page.goto(f"{live_server.url}/factor/")
        assert page.inner_text("#n-setups") == "48"
        assert "Only tells tasks apart" in page.inner_text("#verdict")
        assert page.inner_text("#estimate-within_task td:last-child").strip() == "no"
        main_width = page.evaluate("document.querySelector('main').scrollWidth")
        assert main_width <= width, f"main content is {main_width}px wide on a {width}px screen"
        assert not page.is_visible("#matrix svg")
        page.click("#matrix summary")
        assert page.is_visible("#matrix svg")
        assert problems == []
    finally:
        context.close()
        from django.db import connections

        connections.close_all()
