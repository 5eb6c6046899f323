"""``{{ text|markdown }}``: user Markdown rendered and sanitised by market.sanitize."""
from django import template
from django.utils.safestring import SafeString

from market.sanitize import markdown_to_html

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return markdown_to_html(text)
