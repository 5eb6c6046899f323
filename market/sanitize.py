"""User Markdown → safe HTML: rendered by ``markdown``, then cleaned by ``nh3`` with a strict allow-list.

Raw HTML in the source is escaped by the renderer, and whatever HTML the renderer produces is still
passed through the allow-list: no scripts, styles, images, iframes, forms, event-handler or style
attributes, and links only to absolute ``http``, ``https`` or ``mailto`` URLs.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import markdown
import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
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


def markdown_to_html(text: str) -> SafeString:
    """Render user Markdown to HTML that is safe to insert into a page."""
    if not text:
        return mark_safe("")
    html = markdown.markdown(str(text), extensions=[_EscapeRawHtml(), "sane_lists"], output_format="html")
    for old, new in _HEADING_SHIFT.items():
        html = html.replace(old, new)
    return mark_safe(_CLEANER.clean(html))  # noqa: S308 - nh3 allow-list output


def plain_text_excerpt(text: str, length: int = 200) -> str:
    """A short escaped excerpt of user text for lists (no markup at all)."""
    text = " ".join(str(text).split())
    return escape(text if len(text) <= length else text[: length - 1] + "…")
