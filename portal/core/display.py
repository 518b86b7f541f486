"""Business codes shown by their translated label, one helper for every screen and export: a choice value
(`refresh`, `platform`, `paid`) by its `.label`, an audit action (`invoice.issue`) by the model and the verb,
a language code by its name, and a JSON detail (an audit row's data, an inquiry's history) as labelled
lines instead of raw JSON. The core imports no app: labels come from the model registry."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy

# Verbs of the audit actions (`<entity>.<verb>`); an unknown verb is shown as the entity only.
ACTION_VERBS: dict[str, Any] = {
    "create": pgettext_lazy("audit", "created"),
    "update": pgettext_lazy("audit", "changed"),
    "change": pgettext_lazy("audit", "changed"),
    "delete": pgettext_lazy("audit", "deleted"),
    "issue": pgettext_lazy("audit", "issued"),
    "void": pgettext_lazy("audit", "voided"),
    "credit": pgettext_lazy("audit", "credited"),
    "send": pgettext_lazy("audit", "sent"),
    "reminder": pgettext_lazy("audit", "reminder sent"),
    "reminder_request": pgettext_lazy("audit", "reminder requested"),
    "activate": pgettext_lazy("audit", "activated"),
    "renew": pgettext_lazy("audit", "renewed"),
    "cancel": pgettext_lazy("audit", "cancelled"),
    "expire": pgettext_lazy("audit", "expired"),
    "revoke": pgettext_lazy("audit", "revoked"),
    "reissue": pgettext_lazy("audit", "reissued"),
    "refresh": pgettext_lazy("audit", "refreshed"),
    "record": pgettext_lazy("audit", "recorded"),
    "allocate": pgettext_lazy("audit", "allocated"),
    "stage": pgettext_lazy("audit", "stage changed"),
    "status": pgettext_lazy("audit", "status changed"),
    "reply": pgettext_lazy("audit", "replied"),
    "assign": pgettext_lazy("audit", "assigned"),
    "accept": pgettext_lazy("audit", "accepted"),
    "invite": pgettext_lazy("audit", "invited"),
    "remove": pgettext_lazy("audit", "removed"),
    "fapiao": pgettext_lazy("audit", "fapiao recorded"),
    "generate": pgettext_lazy("audit", "generated"),
    "download": pgettext_lazy("audit", "downloaded"),
}
# Detail keys that are not the name of a model field.
DETAIL_KEYS: dict[str, Any] = {
    "from": pgettext_lazy("change", "from"),
    "to": pgettext_lazy("change", "to"),
    "kid": _("signing key"),
    "lines": _("lines"),
    "gross": _("gross"),
    "reason": _("reason"),
    "source_ip": _("IP address"),
    "message": _("message"),
    "algorithm": _("algorithm"),
    "interests": _("interests"),
    "renewal": _("renewal"),
    "uplift_percent": _("uplift (%)"),
}


@cache
def _choice_labels() -> dict[str, Any]:
    """{stored value: lazy label} over every choice field of every model (the first one wins)."""
    labels: dict[str, Any] = {}
    for model in apps.get_models():
        for field in model._meta.get_fields():
            for value, label in getattr(field, "flatchoices", None) or []:
                if isinstance(value, str) and value and str(value) != str(label):
                    labels.setdefault(value, label)
    for code, name in settings.LANGUAGES:
        labels[code] = name
    return labels


@cache
def _field_labels() -> dict[str, Any]:
    """{field name: lazy verbose name} over every model (the first one wins)."""
    labels: dict[str, Any] = {}
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            labels.setdefault(field.name, field.verbose_name)
            labels.setdefault(field.attname, field.verbose_name)
    return labels


@cache
def _entity_labels() -> dict[str, Any]:
    return {str(model._meta.model_name): model._meta.verbose_name for model in apps.get_models()}


def code_label(value: Any, choices: Any = None) -> str:
    """A stored business code by its label in the active language; anything else unchanged. `choices`
    (a TextChoices enum) says which enum the code is of, where the same word means different things."""
    if choices is not None and value in getattr(choices, "values", []):
        return str(choices(value).label)
    if isinstance(value, str):
        if value in _choice_labels():
            return str(_choice_labels()[value])
        if "." in value and value.replace(".", "").replace("_", "").isalpha() and value.islower():
            return action_label(value)
    return value if isinstance(value, str) else str(value)


def action_label(action: str) -> str:
    """`invoice.issue` → "发票 · 已开具" / "Invoice · issued"."""
    entity, _sep, verb = action.partition(".")
    name = _entity_labels().get(entity.replace("_", ""), None) or _entity_labels().get(entity)
    entity_text = capfirst(str(name)) if name else entity
    verb_text = ACTION_VERBS.get(verb)
    return f"{entity_text} · {verb_text}" if verb_text else entity_text


def detail_key_label(key: str) -> str:
    label = DETAIL_KEYS.get(key) or _field_labels().get(key)
    return capfirst(str(label)) if label else key


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list):
        return pgettext("list separator", ", ").join(_value_text(v) for v in value) if value else "–"
    if isinstance(value, dict):
        return "; ".join(f"{detail_key_label(k)}: {_value_text(v)}" for k, v in value.items())
    if value is None or value == "":
        return "–"
    if isinstance(value, str) and len(value) >= 20 and value[4:5] == "-" and "T" in value:
        moment = parse_datetime(value)
        if moment is not None:
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment, dt.UTC)
            return date_format(timezone.localtime(moment), "Y-m-d H:i")
    return code_label(value)


def details_html(data: Any) -> SafeString:
    """A JSON detail as labelled lines (HTML); a key without a label is shown as code."""
    if not isinstance(data, dict):
        return format_html("{}", _value_text(data))
    if not data:
        return format_html("{}", "–")
    return format_html(
        '<ul class="bo-details">{}</ul>',
        format_html_join(
            "",
            "<li><span>{}</span>: {}</li>",
            ((detail_key_label(k), _value_text(v)) for k, v in data.items()),
        ),
    )


def details_text(data: Any) -> str:
    """The same as plain text (exports)."""
    return _value_text(data)
