"""`{{ value|css_string }}`: text placed inside a CSS string, as the PDF documents' page footers
(`@page { @bottom-center { content: "…" } }`) show a partner's or a document's name."""

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# CSS hex escapes (the space ends the escape and is not shown). Quotes and the backslash would end or
# bend the string, "<" could close the <style> element, control characters are not allowed in it.
_ESCAPED = {ch: f"\\{ord(ch):x} " for ch in "\\\"'<>"} | {chr(i): f"\\{i:x} " for i in range(0x20)}


@register.filter
def css_string(value: Any) -> SafeString:
    return mark_safe("".join(_ESCAPED.get(ch, ch) for ch in str(value)))  # noqa: S308 - every special character escaped above
