"""User Markdown → safe HTML: rendered by ``markdown``, then cleaned by ``nh3`` with a strict allow-list.

Raw HTML in the source is escaped by the renderer, and whatever HTML the renderer produces is still
passed through the allow-list: no scripts, styles, images, iframes, forms, event-handler or style
attributes, and links only to absolute ``http``, ``https`` or ``mailto`` URLs.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import markdown
import nh3
from django.utils.html import linebreaks
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Python-Markdown's link parsing scans from every "[" (and every "(" of a link target) to its partner,
# or to the end of the paragraph when there is none, and nested lists or quotes recurse once per level.
# Bounding these keeps any text at a few milliseconds; ordinary prose never comes near the limits.
MAX_BRACKETS = 100  # "[" in the whole text
MAX_UNMATCHED = 5  # "[" or "(" without a partner
MAX_BRACKET_DEPTH = 5
MAX_NESTING = 20  # list or quote levels on one line
_NESTED_MARKERS = re.compile(
    rf"^[ \t]*(?:(?:[-*+]|\d{{1,9}}[.)])[ \t]+|>[ \t]*){{{MAX_NESTING + 1},}}", re.MULTILINE
)


def _bracket_stats(text: str) -> tuple[int, int]:
    """(unmatched "[" and "(", deepest nesting of either), in one pass."""
    stacks = {"[": 0, "(": 0}
    closing = {"]": "[", ")": "("}
    depth = 0
    for char in text:
        if char in stacks:
            stacks[char] += 1
            depth = max(depth, stacks[char])
        elif char in closing and stacks[closing[char]] > 0:
            stacks[closing[char]] -= 1
    return stacks["["] + stacks["("], depth


# Headings of user text sit below the page's own h1/h2.
_HEADING_SHIFT = {"<h1>": "<h3>", "</h1>": "</h3>", "<h2>": "<h4>", "</h2>": "</h4>"}


class _EscapeRawHtml(markdown.Extension):
    """Treat raw HTML blocks and inline tags in the source as text (they are escaped, not rendered)."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 - markdown's API name
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")


def _href_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        parts = urlsplit(value.strip())
        # Relative, protocol-relative and scheme-less links are dropped: only absolute allowed schemes.
        if parts.scheme.lower() not in URL_SCHEMES:
            return None
        if parts.scheme.lower() != "mailto" and not parts.netloc:
            return None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style", "iframe", "object", "embed", "template", "noscript", "textarea"},
    attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
    attribute_filter=_href_filter,
    url_schemes=set(URL_SCHEMES),
    link_rel="nofollow noopener noreferrer",
    strip_comments=True,
)


def markdown_problem(text: str) -> str | None:
    """Why a text is too complex to render as Markdown (None when it is fine)."""
    if text.count("[") > MAX_BRACKETS:
        return f"use at most {MAX_BRACKETS} square brackets ([) in the text."
    unmatched, depth = _bracket_stats(text)
    if unmatched > MAX_UNMATCHED:
        return f"close your brackets: {unmatched} '[' or '(' have no partner (at most {MAX_UNMATCHED} may)."
    if depth > MAX_BRACKET_DEPTH:
        return f"brackets may be nested at most {MAX_BRACKET_DEPTH} deep."
    if _NESTED_MARKERS.search(text):
        return f"lists and quotes may be nested at most {MAX_NESTING} levels deep."
    return None


def markdown_to_html(text: str) -> SafeString:
    """Render user Markdown to HTML that is safe to insert into a page.

    A text too complex to render cheaply (see :func:`markdown_problem`) is shown as escaped plain text.
    """
    text = str(text or "")
    if not text:
        return mark_safe("")
    if markdown_problem(text) is not None:
        return linebreaks(text, autoescape=True)
    try:
        html = markdown.markdown(text, extensions=[_EscapeRawHtml(), "sane_lists"], output_format="html")
    except RecursionError:  # nesting the limits above did not foresee: never a server error
        return linebreaks(text, autoescape=True)
    for old, new in _HEADING_SHIFT.items():
        html = html.replace(old, new)
    return mark_safe(_CLEANER.clean(html))  # noqa: S308 - nh3 allow-list output
