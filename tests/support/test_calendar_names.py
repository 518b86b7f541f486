"""Seeded business calendars and SLA policies carry Chinese and English names (issue 22)."""

import pytest
from django.utils import translation

from support.models import Calendar, SlaPolicy

pytestmark = pytest.mark.django_db


def test_seeded_calendars_and_policies_are_named_in_both_languages():
    calendar = Calendar.objects.get(name="7x24")
    policy = SlaPolicy.objects.get(name="Enterprise 7x24")
    with translation.override("zh-hans"):
        assert str(calendar) == "7x24 全天候" and str(policy) == "企业版 7x24"
    with translation.override("en"):
        assert str(calendar) == "7x24 around the clock" and str(policy) == "Enterprise 7x24"
    assert all(c.name_zh and c.name_en for c in Calendar.objects.all())
    assert all(p.name_zh and p.name_en for p in SlaPolicy.objects.filter(contract__isnull=True))


def test_a_calendar_without_translated_names_shows_its_name():
    calendar = Calendar.objects.create(name="Plant shifts")
    with translation.override("zh-hans"):
        assert str(calendar) == "Plant shifts"
