"""`{{ value|label }}`: a business code by its translated label; `{{ data|details }}`: a JSON detail as
labelled lines (portal.core.display)."""

from typing import Any

from django import template
from django.utils.safestring import SafeString

from portal.core.display import code_label, details_html

register = template.Library()


@register.filter
def label(value: Any) -> str:
    return code_label(value)


@register.filter
def details(value: Any) -> SafeString:
    return details_html(value)
