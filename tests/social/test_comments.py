"""Comments: sanitised Markdown, one level of replies, the author's forecast, edit window, author delete,
staff hide with a reason, the rate limit, and the API at /api/v1/markets/{id}/comments/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from market.services import forecast_place
from social.exceptions import CommentForbidden, CommentInvalid, CommentThrottled
from social.models import Comment
from social.services import comment_create, comment_delete, comment_edit, comment_hide
from social.throttling import CommentRateThrottle
from tests.market.factories import MarketFactory, UserFactory
from tests.test_security_xss import MARKER, TEXT, live_markup

pytestmark = pytest.mark.django_db

XSS_PROBES = [
    TEXT,
    f'<img src=x onerror=alert("{MARKER}")>',
    f'[x](javascript:alert("{MARKER}"))',
    f"<a href=\"javascript:alert('{MARKER}')\">a</a>",
    f'<svg/onload=alert("{MARKER}")>',
    f"<iframe src=\"javascript:alert('{MARKER}')\"></iframe>",
    f'`<script>alert("{MARKER}")</script>`',
    f'[x](JaVaScRiPt:alert("{MARKER}"))',
    f'<details open ontoggle=alert("{MARKER}")>',
    f'![img](javascript:alert("{MARKER}"))',
]


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("probe", XSS_PROBES)
def test_a_comment_never_becomes_live_markup(client, user, market, probe):
    comment_create(author=user, market=market, body=probe)
    html = client.get(f"/markets/{market.pk}/").content.decode()
    assert live_markup(html) == []
    assert "<script>alert" not in html and "<iframe" not in html
    body = api_for(user).get(f"/api/v1/markets/{market.pk}/comments/").json()["results"][0]
    assert body["body"] == probe.strip()  # the API returns the text as data…
    assert live_markup(body["body_html"]) == [] and "<script" not in body["body_html"]  # …and safe HTML


def test_markdown_renders_and_safe_links_stay(client, user, market):
    comment_create(author=user, market=market, body="**bold** and [paper](https://arxiv.org/abs/2006.07710)")
    html = client.get(f"/markets/{market.pk}/").content.decode()
    assert "<strong>bold</strong>" in html
    assert 'href="https://arxiv.org/abs/2006.07710"' in html and 'rel="nofollow noopener noreferrer"' in html


def test_a_comment_shows_the_authors_forecast_when_written(client, user, market):
    forecast_place(user=user, market=market, probability=0.7)
    first = comment_create(author=user, market=market, body="70% because the OOD set is hard.")
    forecast_place(user=user, market=market, probability=0.2)
    second = comment_create(author=user, market=market, body="I changed my mind.")
    assert first.forecast_probability == pytest.approx(0.7) and second.forecast_probability == pytest.approx(
        0.2
    )
    html = client.get(f"/markets/{market.pk}/").content.decode()
    assert "forecast 70%" in html and "forecast 20%" in html
    assert (
        comment_create(author=UserFactory(), market=market, body="no forecast").forecast_probability is None
    )


def test_replies_go_one_level_deep(user, other_user, market):
    top = comment_create(author=user, market=market, body="top")
    reply = comment_create(author=other_user, market=market, body="reply", parent_id=top.pk)
    assert reply.parent_id == top.pk
    with pytest.raises(CommentInvalid, match="one level deep"):
        comment_create(author=user, market=market, body="reply to reply", parent_id=reply.pk)
    other_market_comment = comment_create(author=user, market=MarketFactory(), body="elsewhere")
    with pytest.raises(CommentInvalid, match="not in this discussion"):
        comment_create(author=user, market=market, body="x", parent_id=other_market_comment.pk)


@pytest.mark.parametrize(
    "body, message",
    [("", "empty"), ("   ", "empty"), ("x" * 4001, "at most 4000"), ("[" * 10, "close your brackets")],
)
def test_bad_bodies_are_refused_with_a_reason(user, market, body, message):
    with pytest.raises(CommentInvalid, match=message):
        comment_create(author=user, market=market, body=body)
    assert not Comment.objects.exists()


def test_only_the_author_edits_and_only_within_the_window(user, other_user, market):
    comment = comment_create(author=user, market=market, body="first")
    with pytest.raises(CommentForbidden, match="only its author"):
        comment_edit(comment=comment, user=other_user, body="hijacked")
    comment_edit(comment=comment, user=user, body="second")
    comment.refresh_from_db()
    assert comment.body == "second" and comment.edited_at is not None
    Comment.objects.filter(pk=comment.pk).update(created_at=comment.created_at - timedelta(minutes=16))
    comment.refresh_from_db()
    with pytest.raises(CommentForbidden, match="15 minutes"):
        comment_edit(comment=comment, user=user, body="too late")


def test_the_author_deletes_and_replies_stay(client, user, other_user, market):
    top = comment_create(author=user, market=market, body="secret reasoning")
    comment_create(author=other_user, market=market, body="a reply", parent_id=top.pk)
    with pytest.raises(CommentForbidden):
        comment_delete(comment=top, user=other_user)
    comment_delete(comment=top, user=user)
    html = client.get(f"/markets/{market.pk}/").content.decode()
    assert "secret reasoning" not in html and "Deleted by its author" in html and "a reply" in html


def test_staff_hide_with_a_reason_and_others_cannot(client, user, other_user, staff, market):
    comment = comment_create(author=user, market=market, body="spam spam")
    with pytest.raises(CommentForbidden, match="only staff"):
        comment_hide(comment=comment, user=other_user, reason="I dislike it")
    with pytest.raises(CommentInvalid, match="reason"):
        comment_hide(comment=comment, user=staff, reason="  ")
    client.force_login(other_user)
    assert client.post(f"/comments/{comment.pk}/hide/", {"reason": "x"}).status_code == 403
    client.force_login(staff)
    client.post(f"/comments/{comment.pk}/hide/", {"reason": "Off-topic advertising"})
    comment.refresh_from_db()
    assert comment.hidden_reason == "Off-topic advertising" and comment.hidden_by == staff
    client.force_login(other_user)
    html = client.get(f"/markets/{market.pk}/").content.decode()
    assert "Hidden by staff: Off-topic advertising" in html and "spam spam" not in html
    assert api_for(other_user).get(f"/api/v1/comments/{comment.pk}/").json()["body"] == ""
    assert api_for(staff).get(f"/api/v1/comments/{comment.pk}/").json()["body"] == "spam spam"


def test_the_page_form_posts_edits_and_deletes(client, user, other_user, market):
    client.force_login(user)
    response = client.post("/comments/", {"market": market.pk, "body": "Posted *from* the page"})
    comment = Comment.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"#comment-{comment.pk}")
    assert client.post(f"/comments/{comment.pk}/edit/", {"body": "edited"}).status_code == 302
    client.force_login(other_user)
    assert client.post(f"/comments/{comment.pk}/edit/", {"body": "mine now"}).status_code == 403
    assert client.post(f"/comments/{comment.pk}/delete/").status_code == 403
    client.logout()
    assert client.post("/comments/", {"market": market.pk, "body": "anon"}).status_code == 302  # to login
    assert Comment.objects.count() == 1 and Comment.objects.get().body == "edited"


def test_comments_are_rate_limited_on_the_page_and_in_the_api(monkeypatch, client, user, market):
    monkeypatch.setattr(
        CommentRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "comments": "2/min"}
    )
    comment_create(author=user, market=market, body="one")
    api = api_for(user)
    assert (
        api.post(f"/api/v1/markets/{market.pk}/comments/", {"body": "two"}, format="json").status_code == 201
    )
    refused = api.post(f"/api/v1/markets/{market.pk}/comments/", {"body": "three"}, format="json")
    assert refused.status_code == 429 and "too fast" in refused.json()["detail"]
    with pytest.raises(CommentThrottled):
        comment_create(author=user, market=market, body="four")
    client.force_login(user)
    html = client.post("/comments/", {"market": market.pk, "body": "five"}, follow=True).content.decode()
    assert "commenting too fast" in html
    assert Comment.objects.count() == 2
    comment_create(author=UserFactory(), market=market, body="another user has a budget of their own")


def test_the_api_lists_posts_replies_and_refuses_bad_input(user, other_user, market):
    api = api_for(user)
    url = f"/api/v1/markets/{market.pk}/comments/"
    top = api.post(url, {"body": "top"}, format="json").json()
    reply = api_for(other_user).post(url, {"body": "reply", "parent": top["id"]}, format="json")
    assert reply.status_code == 201 and reply.json()["parent"] == top["id"]
    bad = api.post(url, {"body": "x", "parent": reply.json()["id"]}, format="json")
    assert bad.status_code == 400 and "parent" in bad.json()["errors"]
    assert api.post(url, {}, format="json").status_code == 400
    assert APIClient().post(url, {"body": "anon"}, format="json").status_code == 401
    listed = APIClient().get(url).json()
    assert [c["body"] for c in listed["results"]] == ["top", "reply"] and listed["count"] == 2
    assert APIClient().get("/api/v1/markets/999999/comments/").status_code == 404
    assert (
        api_for(other_user).patch(f"/api/v1/comments/{top['id']}/", {"body": "x"}, format="json").status_code
        == 403
    )
    assert api.delete(f"/api/v1/comments/{top['id']}/").status_code == 204
    assert api_for(other_user).post(f"/api/v1/comments/{top['id']}/hide/", {"reason": "x"}).status_code == 403


def test_a_proposal_thread_is_as_private_as_the_proposal(client, user, other_user, staff):
    from proposals.services import proposal_create
    from tests.proposals.support import proposal_body

    proposal = proposal_create(proposer=user, data=proposal_body(title="Private idea"))
    client.force_login(user)
    client.post("/comments/", {"proposal": proposal.pk, "body": "Why seeds = 8?"})
    client.force_login(staff)
    top = Comment.objects.get()
    client.post("/comments/", {"proposal": proposal.pk, "body": "Because of the budget.", "parent": top.pk})
    client.force_login(user)
    html = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert "Why seeds = 8?" in html and "Because of the budget." in html
    client.force_login(other_user)
    assert client.post("/comments/", {"proposal": proposal.pk, "body": "snooping"}).status_code == 404
    with pytest.raises(CommentForbidden):
        comment_create(author=other_user, proposal=proposal, body="snooping")
    assert api_for(other_user).get(f"/api/v1/comments/{top.pk}/").status_code == 404
    assert Comment.objects.count() == 2


def test_the_report_shows_the_markets_thread_and_posting_returns_there(client, user, market):
    comment_create(author=user, market=market, body="Posted from the market page")
    client.force_login(user)
    report = f"/markets/{market.pk}/report/"
    assert "Posted from the market page" in client.get(report).content.decode()
    response = client.post("/comments/", {"market": market.pk, "body": "From the report", "next": report})
    assert response.status_code == 302 and response["Location"].startswith(report + "#comment-")
    response = client.post("/comments/", {"market": market.pk, "body": "x", "next": "https://evil.example/"})
    assert response["Location"].startswith(f"/markets/{market.pk}/")  # no open redirect
