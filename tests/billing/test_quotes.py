"""Quotes: price-list lines, renewal with uplift and true-up, discount approval, versions, acceptance
(contract draft + issued invoice) and the paid invoice activating a standard contract by itself."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.models import BillingPeriod, InvoiceStatus, PaymentStatus, QuoteKind, QuoteLineKind, QuoteStatus
from billing.pdf import render_quote_pdf
from billing.services import payment_record
from billing.services import quotes as q
from contracts.models import Contract, ContractStatus
from contracts.services import contract_activate, contract_create
from editions.models import Module
from licenses.models import UsageReport
from portal.core.errors import ApplicationError
from tests.billing.factories import chinese_organization
from tests.billing.pdfutil import needs_pdftotext, pdf_text
from tests.factories import UserFactory, edition
from tests.licenses.factories import activate

pytestmark = pytest.mark.django_db
D = Decimal
TZ = timezone.get_default_timezone()
NOW = dt.datetime(2026, 11, 2, 10, 0, tzinfo=TZ)  # 59 days before the term ends on 2026-12-31


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def standard_contract(org=None, **kwargs):
    """An active standard contract (1,000 devices, retail vertical) for calendar 2026."""
    contract = contract_create(
        actor=None,
        organization=org or chinese_organization(),
        edition=edition("standard"),
        start_date=kwargs.pop("start_date", dt.date(2026, 1, 1)),
        end_date=kwargs.pop("end_date", dt.date(2026, 12, 31)),
        modules=[Module.objects.get(code="retail")],
        **kwargs,
    )
    return contract_activate(actor=None, contract=contract)


def report(answer, when, count):
    UsageReport.objects.create(
        deployment=answer.deployment,
        contract_id=answer.license.contract_id,
        license=answer.license,
        reported_at=when,
        device_count=count,
        status="valid",
    )


def manager():
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="approve_quote_discount"))
    return UserFactory._meta.model.objects.get(pk=user.pk)  # fresh permission cache


def test_new_quote_from_the_price_list_with_tax_as_invoices():
    org = chinese_organization()
    quote = q.quote_create(actor=None, organization=org, kind=QuoteKind.NEW, edition=edition("standard"))
    assert quote.number.startswith("QUO-2026-") and quote.version == 1 and quote.status == QuoteStatus.DRAFT
    assert (quote.term_start, quote.term_end) == (dt.date(2026, 11, 2), dt.date(2027, 11, 1))
    [line] = quote.lines.all()
    assert line.kind == QuoteLineKind.EDITION and line.unit_price == D("30000")
    assert (quote.net_total, quote.tax_total, quote.gross_total) == (
        D("30000.00"),
        D("3900.00"),
        D("33900.00"),
    )
    assert quote.valid_until == dt.date(2026, 12, 2)


def test_renewal_quote_has_uplift_and_a_true_up_from_the_peak():
    contract = standard_contract()
    a = activate(contract, machine_id="edge-a", hostname="edge-a")
    b = activate(contract, machine_id="edge-b", hostname="edge-b")
    report(a, dt.datetime(2026, 6, 1, 9, tzinfo=TZ), 600)
    report(b, dt.datetime(2026, 6, 1, 9, tzinfo=TZ), 300)
    report(a, dt.datetime(2026, 9, 15, 9, tzinfo=TZ), 800)  # the peak day: 800 + 440 = 1,240
    report(a, dt.datetime(2026, 9, 15, 18, tzinfo=TZ), 700)
    report(b, dt.datetime(2026, 9, 15, 12, tzinfo=TZ), 440)
    quote = q.quote_renewal_for_contract(actor=None, contract=contract, uplift_percent=D("5"))
    assert quote.kind == QuoteKind.RENEWAL and quote.contract == contract
    assert (quote.term_start, quote.term_end) == (dt.date(2027, 1, 1), dt.date(2027, 12, 31))
    lines = {line.kind: line for line in quote.lines.all()}
    assert lines[QuoteLineKind.EDITION].net == D("30000.00")
    assert lines[QuoteLineKind.UPLIFT].net == D("1500.00")
    true_up = lines[QuoteLineKind.TRUE_UP]
    assert true_up.quantity == 240 and not true_up.recurring
    # 30,000 a year ÷ 1,000 devices = 30 per device-year, pro rata 108 days (2026-09-15 to 2026-12-31)
    assert true_up.evidence["days"] == 108
    assert true_up.unit_price == (D(30) * 108 / 365).quantize(D("0.000001"))
    assert true_up.net == D("2130.41")
    assert true_up.evidence["peak"] == 1240 and true_up.evidence["day"] == "2026-09-15"
    assert [(d["hostname"], d["devices"]) for d in true_up.evidence["deployments"]] == [
        ("edge-a", 800),
        ("edge-b", 440),
    ]
    assert "1,240" in true_up.description and "2026-09-15" in true_up.description
    # asking again returns the open quote instead of a duplicate
    assert q.quote_renewal_for_contract(actor=None, contract=contract) == quote


def test_no_true_up_within_the_limit():
    contract = standard_contract()
    a = activate(contract, machine_id="edge-a")
    report(a, dt.datetime(2026, 9, 15, 9, tzinfo=TZ), 1000)
    quote = q.quote_renewal_for_contract(actor=None, contract=contract)
    assert not quote.lines.filter(kind=QuoteLineKind.TRUE_UP).exists()


def test_a_discount_above_the_limit_needs_a_sales_manager(settings):
    settings.QUOTE_DISCOUNT_APPROVAL_PERCENT = "10"
    contract = standard_contract()
    quote = q.quote_renewal_for_contract(actor=None, contract=contract, discount_percent=D("15"))
    assert quote.discount_total == D("4500.00") and quote.net_total == D("25500.00")
    with pytest.raises(ApplicationError) as refused:
        q.quote_send(actor=None, quote=quote)
    assert refused.value.code == "quote_discount_not_approved" and refused.value.status == 409
    with pytest.raises(ApplicationError) as not_allowed:
        q.quote_approve_discount(actor=UserFactory(is_staff=True), quote=quote)
    assert not_allowed.value.status == 403
    q.quote_approve_discount(actor=manager(), quote=quote)
    sent = q.quote_send(actor=None, quote=quote)
    assert sent.status == QuoteStatus.SENT and sent.sent_at is not None


def test_revise_makes_the_next_version_and_withdraws_the_previous():
    contract = standard_contract()
    first = q.quote_renewal_for_contract(actor=None, contract=contract)
    second = q.quote_revise(actor=None, quote=first, discount_percent=D("5"))
    first.refresh_from_db()
    assert first.status == QuoteStatus.WITHDRAWN and second.previous_version == first
    assert (second.number, second.version) == (first.number, 2)
    assert second.net_total == D("28500.00")
    with pytest.raises(ApplicationError) as refused:
        q.quote_accept(actor=None, quote=first)
    assert refused.value.code == "quote_invalid_transition"


def test_an_expired_quote_cannot_be_accepted():
    contract = standard_contract()
    quote = q.quote_renewal_for_contract(actor=None, contract=contract, valid_until=dt.date(2026, 11, 10))
    with time_machine.travel(NOW + dt.timedelta(days=9), tick=False):
        with pytest.raises(ApplicationError) as refused:
            q.quote_accept(actor=None, quote=quote)
        assert refused.value.code == "quote_expired"
        assert q.quotes_expire_due() == 1
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.EXPIRED


def test_accept_creates_the_renewal_draft_and_the_invoice_and_payment_activates_it(
    django_capture_on_commit_callbacks,
):
    contract = standard_contract()
    quote = q.quote_renewal_for_contract(actor=None, contract=contract, uplift_percent=D("5"))
    with django_capture_on_commit_callbacks(execute=True):
        q.quote_send(actor=None, quote=quote)
    assert quote.number in mail.outbox[-1].subject and mail.outbox[-1].attachments[0][2] == "application/pdf"
    sales = UserFactory(is_staff=True)
    with django_capture_on_commit_callbacks(execute=True):
        accepted = q.quote_accept(actor=sales, quote=quote, on_behalf=True)
    assert accepted.status == QuoteStatus.ACCEPTED and accepted.accepted_on_behalf
    assert accepted.accepted_by == sales
    renewal = accepted.resulting_contract
    assert renewal.renewal_of == contract and renewal.status == ContractStatus.DRAFT
    assert renewal.price == D("31500.00") and (renewal.start_date, renewal.end_date) == (
        dt.date(2027, 1, 1),
        dt.date(2027, 12, 31),
    )
    invoice = accepted.invoice
    assert invoice.status == InvoiceStatus.ISSUED and invoice.contract == renewal
    assert invoice.gross_total == quote.gross_total
    assert [line.gross for line in invoice.lines.all()] == [line.gross for line in quote.lines.all()]
    # the term-fee run will not bill the renewal's term again
    assert BillingPeriod.objects.filter(contract=renewal, invoice=invoice).count() == 1
    assert any(invoice.number in m.subject for m in mail.outbox)

    payment_record(
        actor=None,
        method="bank_transfer",
        amount=invoice.gross_total,
        currency="CNY",
        allocations=[(invoice, invoice.gross_total)],
    )
    invoice.refresh_from_db()
    renewal.refresh_from_db()
    assert invoice.payment_status == PaymentStatus.PAID
    assert renewal.status == ContractStatus.ACTIVE  # standard: sold without negotiation


def test_a_negotiated_edition_waits_for_sales_after_payment():
    org = chinese_organization()
    contract = contract_activate(
        actor=None,
        contract=contract_create(
            actor=None,
            organization=org,
            edition=edition("enterprise"),
            start_date=dt.date(2026, 1, 1),
            end_date=dt.date(2026, 12, 31),
            price=D("150000"),
        ),
    )
    quote = q.quote_renewal_for_contract(actor=None, contract=contract)
    accepted = q.quote_accept(actor=None, quote=quote)
    invoice = accepted.invoice
    payment_record(
        actor=None,
        method="bank_transfer",
        amount=invoice.gross_total,
        currency="CNY",
        allocations=[(invoice, invoice.gross_total)],
    )
    assert Contract.objects.get(pk=accepted.resulting_contract_id).status == ContractStatus.DRAFT


def test_a_renewal_already_active_is_a_conflict():
    contract = standard_contract()
    quote = q.quote_renewal_for_contract(actor=None, contract=contract)
    from contracts.services import contract_renew

    contract_activate(actor=None, contract=contract_renew(actor=None, contract=contract))
    with pytest.raises(ApplicationError) as refused:
        q.quote_accept(actor=None, quote=quote)
    assert refused.value.code == "quote_contract_conflict"
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT  # nothing half-done


def test_quote_rules_refuse_bad_input():
    org = chinese_organization()
    with pytest.raises(ApplicationError) as no_contract:
        q.quote_create(actor=None, organization=org, kind=QuoteKind.RENEWAL)
    assert no_contract.value.status == 400
    other = standard_contract()
    with pytest.raises(ApplicationError) as foreign:
        q.quote_create(actor=None, organization=org, kind=QuoteKind.RENEWAL, contract=other)
    assert foreign.value.status == 400
    with pytest.raises(ApplicationError) as no_edition:
        q.quote_create(actor=None, organization=org, kind=QuoteKind.NEW)
    assert no_edition.value.status == 400


@needs_pdftotext
def test_the_pdf_is_bilingual_with_seller_and_true_up_evidence():
    contract = standard_contract()
    a = activate(contract, machine_id="edge-a", hostname="edge-a")
    report(a, dt.datetime(2026, 9, 15, 9, tzinfo=TZ), 1240)
    quote = q.quote_renewal_for_contract(actor=None, contract=contract)
    text = pdf_text(render_quote_pdf(quote))
    assert "报价单 / Quote" in text and quote.number in text
    assert "有效期至 / Valid until" in text and "2026-12-31" in text
    assert f"{quote.gross_total:,.2f}" in text and "示例物联网科技" in text  # the seller's data
    assert "edge-a" in text and "1240" in text


def test_standard_contracts_get_their_renewal_quote_90_days_out(django_capture_on_commit_callbacks):
    due = standard_contract(end_date=dt.date(2027, 1, 20))  # 79 days left
    later = standard_contract(end_date=dt.date(2027, 6, 30))  # outside the window
    enterprise = contract_activate(
        actor=None,
        contract=contract_create(
            actor=None,
            organization=chinese_organization(),
            edition=edition("enterprise"),
            start_date=dt.date(2026, 1, 21),
            end_date=dt.date(2027, 1, 20),
            price=D("150000"),
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert q.renewal_quotes_offer() == 1
    quote = due.quotes.get()
    assert quote.status == QuoteStatus.SENT and quote.kind == QuoteKind.RENEWAL
    assert not later.quotes.exists() and not enterprise.quotes.exists()  # sales negotiates enterprise
    assert any(quote.number in m.subject for m in mail.outbox)
    assert q.renewal_quotes_offer() == 0  # once


def test_absurd_amounts_are_refused_not_a_database_error():
    lines = [
        q.QuoteLineSpec(description=f"line {n}", quantity=D("9999999999"), unit_price=D("999999"))
        for n in range(3)
    ]
    with pytest.raises((ApplicationError, ValidationError)) as refused:
        q.quote_create(
            actor=None,
            organization=chinese_organization(),
            kind=QuoteKind.NEW,
            edition=edition("standard"),
            lines=lines,
        )
    assert getattr(refused.value, "status", 400) == 400


def test_no_second_renewal_quote_once_renewed():
    contract = standard_contract()
    quote = q.quote_renewal_for_contract(actor=None, contract=contract)
    q.quote_accept(actor=None, quote=quote)
    with pytest.raises(ApplicationError) as refused:
        q.quote_renewal_for_contract(actor=None, contract=contract)
    assert refused.value.code == "quote_contract_conflict" and refused.value.status == 409
