"""User Markdown → HTML: the nh3 allow-list, and bounded rendering cost for hostile texts."""
import time
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from market.sanitize import ALLOWED_TAGS, MAX_BRACKETS, markdown_problem, markdown_to_html


class Markup(HTMLParser):
    """Every tag, attribute and link target of a fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[tuple[str, str]] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        self.tags.add(tag)
        for name, value in attrs:
            self.attributes.add((tag, name))
            if name == "href":
                self.hrefs.append(value or "")


def markup(html: str) -> Markup:
    parser = Markup()
    parser.feed(html)
    return parser


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](  javascript:alert(1))",
        "[x](java&#x09;script:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox(1))",
        "[x](/accounts/logout/)",
        "[x](//evil.example/)",
        "![x](https://tracker.example/pixel.png)",
        '<div style="position:fixed" onmouseover="alert(1)">x</div>',
        "<iframe src=https://evil.example></iframe>",
        "<style>body{display:none}</style>",
        "<form action=/proposals/new/><button>go</button></form>",
        '[x](https://ok.example/ "t" onclick="alert(1)")',
        "<svg><a xlink:href=javascript:alert(1)>x</a></svg>",
    ],
)
def test_only_allowed_tags_attributes_and_link_schemes_survive(source):
    found = markup(str(markdown_to_html(source)))
    assert found.tags <= ALLOWED_TAGS
    assert found.attributes <= {("a", "href"), ("a", "title"), ("a", "rel")}
    for href in found.hrefs:
        parts = urlsplit(href)
        assert parts.scheme in ("http", "https", "mailto"), href
        assert parts.netloc or parts.scheme == "mailto", href


def test_allowed_markup_is_kept():
    html = str(markdown_to_html(
        "# Title\n\n**bold** *it* `code` [site](https://example.org/a?b=1) [mail](mailto:a@example.org)"
        "\n\n- one\n- two"
    ))
    assert "<h3>Title</h3>" in html  # below the page's own headings
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html and "<code>code</code>" in html
    assert '<a href="https://example.org/a?b=1" rel="nofollow noopener noreferrer">site</a>' in html
    assert '<a href="mailto:a@example.org" rel="nofollow noopener noreferrer">mail</a>' in html
    assert "<li>one</li>" in html


HOSTILE = [
    "[" * 5 + "a" * 7995,
    "[a](" * 5 + "a" * 7980,
    "[[[[[a]]]]]" * 20 + "a" * 7700,
    "![a](" * 5 + "a" * 7975,
    "1. " * 20,
    "\n".join("    " * i + "- x" for i in range(60)),
    "> " * 20 + "x",
    "*_" * 4000,
    "<" * 8000,
    "`" * 8000,
    "\\" * 8000,
    ")]" * 4000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_texts_within_the_limits_render_quickly(text):
    assert markdown_problem(text) is None
    start = time.perf_counter()
    markdown_to_html(text)
    assert time.perf_counter() - start < 0.25  # ≈ 10 ms here; generous for a busy CI machine


@pytest.mark.parametrize(
    "text",
    ["[" * 20000, "[a](" * 2000, "[" * (MAX_BRACKETS + 1) + "]" * (MAX_BRACKETS + 1), "1. " * 6000,
     ">" * 8000, "- " * 30, "((((((((((x))))))))))"],
)
def test_texts_beyond_the_limits_are_refused_and_shown_as_plain_text(text):
    assert markdown_problem(text)
    start = time.perf_counter()
    html = str(markdown_to_html(text))  # e.g. a market question written before the limits existed
    assert time.perf_counter() - start < 0.25
    assert html.startswith("<p>") and "<a " not in html and "<li>" not in html


def test_ordinary_markdown_is_within_the_limits():
    text = ("Heading\n" + "-" * 60 + "\n\n" + "*" * 40 + "\n\n1. first (see [the essay](https://example.org/))\n"
            "2. second\n\n> quoted\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert markdown_problem(text) is None
    assert "<h4>Heading</h4>" in str(markdown_to_html(text))
