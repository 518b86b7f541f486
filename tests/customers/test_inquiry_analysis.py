"""Inquiry analysis by industry × what was asked for, against a hand-counted set of inquiries.

retail         A [source_code, price] won (motive cost) · B [saas] lost · C [source_code] new (data security)
finance        D [source_code, private_deployment] won (compliance, data security) · E [private_deployment] won
manufacturing  F [customization] proposal
(G: retail, received before the period; H: finance, via the web form — filtered by channel)
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.selectors import inquiry_analysis
from tests.customers.factories import SHANGHAI, InquiryFactory

pytestmark = pytest.mark.django_db

D = datetime.date
RECEIVED = datetime.datetime(2026, 5, 10, 10, tzinfo=SHANGHAI)


@pytest.fixture
def inquiries(db):
    def make(industry, interests, stage="new", motives=(), channel="phone", created_at=RECEIVED, **kw):
        return InquiryFactory(
            industry=industry,
            interests=list(interests),
            stage=stage,
            lost_reason="price" if stage == "lost" else "",
            motives=list(motives),
            channel=channel,
            created_at=created_at,
            **kw,
        )

    make("retail", ["source_code", "price"], "won", ["cost"])
    make("retail", ["saas"], "lost")
    make("retail", ["source_code"], "new", ["data_security"])
    make("finance", ["source_code", "private_deployment"], "won", ["compliance", "data_security"])
    make("finance", ["private_deployment"], "won")
    make("manufacturing", ["customization"], "proposal")
    make("retail", ["source_code"], "won", created_at=datetime.datetime(2025, 1, 5, tzinfo=SHANGHAI))
    make("finance", ["saas"], "new", channel="web_form", created_at=RECEIVED)


def analysis(**kw):
    return inquiry_analysis(
        date_from=D(2026, 1, 1), date_to=D(2026, 12, 31), channel=kw.pop("channel", "phone"), **kw
    )


def test_by_industry(inquiries):
    result = analysis()
    rows = {segment.key: segment for segment in result.by_industry}
    assert [segment.key for segment in result.by_industry] == ["retail", "finance", "manufacturing"]
    retail, finance, manufacturing = rows["retail"], rows["finance"], rows["manufacturing"]
    assert (retail.inquiries, retail.asked, retail.won, retail.lost, retail.open) == (
        3,
        {"source_code": 2, "price": 1, "saas": 1},
        1,
        1,
        1,
    )
    assert retail.source_code_share == Decimal("0.6667")
    assert retail.win_rate == Decimal("0.5000")
    assert retail.conversion_rate == Decimal("0.3333")
    assert (finance.source_code_share, finance.win_rate, finance.conversion_rate) == (
        Decimal("0.5000"),
        Decimal("1.0000"),
        Decimal("1.0000"),
    )
    assert manufacturing.source_code_share == Decimal("0") and manufacturing.win_rate is None
    assert manufacturing.conversion_rate == Decimal("0")
    total = result.total
    assert (total.inquiries, total.asked["source_code"], total.won, total.lost) == (6, 3, 3, 1)
    assert (total.source_code_share, total.win_rate, total.conversion_rate) == (
        Decimal("0.5000"),
        Decimal("0.7500"),
        Decimal("0.5000"),
    )


def test_by_what_was_asked_and_why_they_want_the_source(inquiries):
    result = analysis()
    source = next(segment for segment in result.by_interest if segment.key == "source_code")
    assert (source.inquiries, source.won, source.lost) == (3, 2, 0)
    assert (source.win_rate, source.conversion_rate) == (Decimal("1.0000"), Decimal("0.6667"))
    assert result.source_code_motives == {
        "data_security": 2,
        "customization": 0,
        "cost": 1,
        "compliance": 1,
        "reselling": 0,
    }


def test_period_and_channel_filters(inquiries):
    everything = inquiry_analysis(date_from=D(2025, 1, 1), date_to=D(2026, 12, 31))
    assert everything.total.inquiries == 8
    web = inquiry_analysis(date_from=D(2026, 1, 1), date_to=D(2026, 12, 31), channel="web_form")
    assert web.total.inquiries == 1
    today = timezone.localdate()
    assert inquiry_analysis(date_from=today, date_to=today).total.inquiries == 0
