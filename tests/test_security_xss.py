"""User text is escaped or sanitised on every page that shows it: titles, question texts and usernames
carrying script tags, event-handler attributes and javascript: links never become live markup."""
from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model

from market.services import account_open, forecast_place, market_close, market_resolve
from proposals.services import proposal_create
from tests.market.factories import MarketFactory, UserFactory
from tests.proposals.support import proposal_body, token_client
from tests.scoring_support import scores_recomputed_on_commit

pytestmark = pytest.mark.django_db

MARKER = "pwned"  # every payload calls alert("pwned…"); no legitimate markup contains it
TITLE = f'<script>alert("{MARKER}-title")</script><img src=x onerror=alert("{MARKER}-img")>'
TEXT = (
    f'Intro <script>alert("{MARKER}-text")</script>\n\n'
    f'[click me](javascript:alert("{MARKER}-link")) '
    f'<a href="javascript:alert(\'{MARKER}-a\')" onmouseover="alert(\'{MARKER}-hover\')">hover</a> '
    f'<svg onload=alert("{MARKER}-svg")></svg> [ok](https://example.org/)'
)
USERNAME = f'"><img src=x onerror=alert(1)>{MARKER}'


class LiveMarkup(HTMLParser):
    """Collects markup that would run the payload: script bodies, on* attributes, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.live: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on") and MARKER in value:
                self.live.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action", "formaction", "xlink:href") and value.startswith("javascript:"):
                self.live.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and MARKER in data:
            self.live.append(f"<script>{data[:80]}")


def live_markup(html: str) -> list[str]:
    parser = LiveMarkup()
    parser.feed(html)
    return parser.live


@pytest.fixture
def evil_world(db):
    """A market, a proposal and a forecaster whose texts and name are all attacks, with a resolved market
    so that the leaderboard and the profile have rows to show."""
    evil = get_user_model().objects.create_user(username=USERNAME, password="pw-test-2026")  # no form validators
    account_open(user=evil)
    honest = UserFactory()
    open_market = MarketFactory(title=TITLE, question=TEXT)
    resolved = MarketFactory(title=TITLE + " (resolved)", question=TEXT)
    for user, p in ((evil, 0.8), (honest, 0.3)):
        forecast_place(user=user, market=open_market, probability=p)
        forecast_place(user=user, market=resolved, probability=p)
    market_close(market=resolved)
    with scores_recomputed_on_commit():  # the leaderboard and profile show the scores
        market_resolve(market=resolved, outcome="yes")
    proposal = proposal_create(proposer=evil, data=proposal_body(title=TITLE, text=TEXT))
    return {"evil": evil, "market": open_market, "resolved": resolved, "proposal": proposal}


def pages(world) -> list[str]:
    return [
        "/",
        f"/markets/{world['market'].pk}/",
        f"/markets/{world['resolved'].pk}/",
        f"/markets/{world['resolved'].pk}/report/",
        "/proposals/",
        f"/proposals/{world['proposal'].pk}/",
        f"/users/{quote(USERNAME)}/",
        "/leaderboard/",
    ]


def test_no_page_turns_user_text_into_live_markup(client, evil_world):
    staff = UserFactory(is_staff=True)
    for viewer in (evil_world["evil"], staff):
        client.force_login(viewer)
        for url in pages(evil_world):
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.content.decode()
            assert live_markup(html) == [], url
            assert MARKER in html, f"{url} does not show the user text at all, so the test proves nothing"


def test_the_evil_username_and_title_are_shown_escaped(client, evil_world):
    client.force_login(evil_world["evil"])
    html = client.get(f"/markets/{evil_world['market'].pk}/").content.decode()
    assert "&lt;script&gt;alert(&quot;pwned-title&quot;)&lt;/script&gt;" in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;pwned" in html  # the username in the trade list
    leaderboard = client.get("/leaderboard/").content.decode()
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;pwned" in leaderboard


def test_markdown_keeps_safe_links_and_drops_dangerous_ones(client, evil_world):
    client.force_login(evil_world["evil"])
    html = client.get(f"/proposals/{evil_world['proposal'].pk}/").content.decode()
    assert '<a href="https://example.org/" rel="nofollow noopener noreferrer">ok</a>' in html
    body = token_client(evil_world["evil"]).get(f"/api/v1/proposals/{evil_world['proposal'].pk}/").json()
    assert live_markup(body["text_html"]) == [] and "<script" not in body["text_html"]
    assert '<a href="javascript' not in body["text_html"]


def test_registration_refuses_markup_in_usernames(client, db):
    response = client.post("/accounts/register/", {
        "username": "<script>alert(1)</script>", "password1": "a-long-Passphrase-91", "password2": "a-long-Passphrase-91",
    })
    assert response.status_code == 200 and not get_user_model().objects.filter(username__contains="<").exists()
    assert "Enter a valid username" in response.content.decode()


def test_api_returns_user_text_as_data_not_markup(evil_world):
    """JSON is not HTML: titles come back verbatim with a JSON content type (and nosniff in production)."""
    client = token_client(evil_world["evil"])
    response = client.get(f"/api/v1/markets/{evil_world['market'].pk}/")
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["title"] == TITLE


def test_csv_exports_defuse_spreadsheet_formulas(client, db):
    """Titles and usernames that a spreadsheet would evaluate as formulas are exported as text."""
    user = get_user_model().objects.create_user(username="+cmd", password="pw-test-2026")
    account_open(user=user)
    market = MarketFactory(title='=HYPERLINK("https://evil.example","click")')
    forecast_place(user=user, market=market, probability=0.7)
    csv_text = client.get("/exports/forecasts.csv").content.decode()
    assert "'=HYPERLINK" in csv_text and "'+cmd" in csv_text
    assert "\n=HYPERLINK" not in csv_text and ",=HYPERLINK" not in csv_text


def test_every_page_carries_a_content_security_policy_without_inline_script(client, db):
    from config.middleware import DEFAULT_CSP

    for url in ("/", "/leaderboard/", "/factor/", "/accounts/login/", "/api/v1/docs/"):
        response = client.get(url)
        assert response["Content-Security-Policy"] == DEFAULT_CSP, url
    assert "script-src 'self';" in DEFAULT_CSP and "unsafe-inline" not in DEFAULT_CSP.split("script-src")[1].split(";")[0]


def test_templates_hold_no_inline_script_or_event_handler():
    """The CSP forbids inline script, so any inline <script> with code or on*= handler would break."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "templates"
    for template in root.rglob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or "json" in tag, f"inline script in {template}: {tag}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"event-handler attribute in {template}"
