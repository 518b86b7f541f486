"""Macros (canned responses): a bilingual reply with placeholders, an optional status and tags."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from support.models.choices import TicketStatus

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
ANY_PLACEHOLDER = re.compile(r"\{\{\s*(.*?)\s*\}\}")
# name → what it stands for (shown to staff in the admin's help text)
PLACEHOLDERS: dict[str, object] = {
    "ticket_number": _("the ticket number, e.g. TK-2026-000123"),
    "ticket_subject": _("the ticket's subject"),
    "organization": _("the customer's organization"),
    "requester_name": _("the requester's name (or e-mail address)"),
    "agent_name": _("the name of the engineer applying the macro"),
    "first_response_due": _("the first-response deadline, local time"),
    "resolution_due": _("the resolution deadline, local time"),
    "portal_url": _("the link to the ticket in the portal"),
}


def validate_placeholders(text: str) -> None:
    unknown = sorted({name for name in ANY_PLACEHOLDER.findall(text or "") if name not in PLACEHOLDERS})
    if unknown:
        raise ValidationError(
            _("Unknown placeholders: %(names)s. Available: %(available)s.")
            % {
                "names": ", ".join("{{ " + n + " }}" for n in unknown),
                "available": ", ".join("{{ " + n + " }}" for n in PLACEHOLDERS),
            },
            code="placeholder",
        )


class Macro(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    body_zh = models.TextField(_("reply (Chinese)"), blank=True, validators=[validate_placeholders])
    body_en = models.TextField(_("reply (English)"), blank=True, validators=[validate_placeholders])
    internal = models.BooleanField(
        _("internal note"), default=False, help_text=_("Post as an internal note instead of a reply.")
    )
    set_status = models.CharField(
        _("then set status"),
        max_length=20,
        choices=TicketStatus.choices,
        blank=True,
        help_text=_("Empty: keep the status (a first reply still opens a new ticket)."),
    )
    add_tags = models.ManyToManyField("support.TicketTag", verbose_name=_("add tags"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("macro (canned response)")
        verbose_name_plural = _("macros (canned responses)")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not (self.body_zh or "").strip() and not (self.body_en or "").strip():
            raise ValidationError(_("Write the reply in at least one language."))
