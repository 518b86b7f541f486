"""Bilingual names stored on catalog rows (name_zh / name_en), picked by the active language; the one rule
for the language a mail is written in."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class BilingualNameMixin(models.Model):
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        language = (get_language() or "zh-hans").lower()
        if language.startswith("zh"):
            return self.name_zh or self.name_en
        return self.name_en or self.name_zh


class LocalizedNameMixin(models.Model):
    """Chinese and English names shown beside a `name` the code keys on (seeded calendars and policies):
    the one of the active language, else the name."""

    name_zh = models.CharField(_("name (Chinese)"), max_length=100, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        language = (get_language() or "zh-hans").lower()
        chosen = self.name_zh if language.startswith("zh") else self.name_en
        return chosen or getattr(self, "name", "")


# --- a recipient's language ---------------------------------------------------------------------------
# One rule for every mail (reminders, invoices, dunning, support, invitations, allauth): the recipient's
# stored preference, else their organization's language, else the fallback (the language a ticket was
# written in, the browser's), else the site default. The core imports no app: users and organizations are
# read by attribute (`user.portal_preference.language`, `organization.language`/`.country`).

CHINESE_SPEAKING_COUNTRIES = frozenset({"CN"})


def language_normalize(value: Any) -> str:
    """`value` mapped to one of settings.LANGUAGES ("zh_Hans", "zh-CN" → "zh-hans"); "" when unsupported."""
    code = str(value or "").strip().lower().replace("_", "-")
    available = [c for c, _name in settings.LANGUAGES]
    if code in available:
        return code
    if code.startswith("zh"):
        return next((c for c in available if c.startswith("zh")), "")
    if code[:2] in available:
        return code[:2]
    return ""


def user_language(user: Any) -> str:
    """The language a user chose in the portal (UserPreference), "" when none."""
    if user is None or not getattr(user, "pk", None):
        return ""
    try:
        preference = user.portal_preference
    except ObjectDoesNotExist:
        return ""
    return language_normalize(getattr(preference, "language", ""))


def organization_language(organization: Any) -> str:
    """The organization's own language if it has one, else Simplified Chinese for mainland customers
    and English for everyone else; "" without an organization."""
    if organization is None:
        return ""
    explicit = language_normalize(getattr(organization, "language", ""))
    if explicit:
        return explicit
    country = (getattr(organization, "country", "") or "CN").upper()
    return language_normalize("zh-hans" if country in CHINESE_SPEAKING_COUNTRIES else "en")


def recipient_language(*, user: Any = None, organization: Any = None, fallback: str = "") -> str:
    """The language to write to this recipient in: their stored preference, else their organization's,
    else `fallback`, else settings.LANGUAGE_CODE."""
    return (
        user_language(user)
        or organization_language(organization)
        or language_normalize(fallback)
        or language_normalize(settings.LANGUAGE_CODE)
        or settings.LANGUAGE_CODE
    )
