"""Money is exact on every supported database (issue 21 item 6): random invoices, payments and credit
notes created through the integration API never trip a constraint or answer 500, and every total is
the exact sum of its parts. `make test` runs this module on PostgreSQL and again on SQLite, where
decimals used to be compared as floating point (63961.05 + 5756.49 = 69717.54000000001)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from billing.models import Invoice
from tests.billing.factories import chinese_organization
from tests.conftest import bearer

pytestmark = pytest.mark.django_db

CENT = Decimal("0.01")

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999.99"), places=2)
quantities = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("5000"), places=4)
rates = st.sampled_from([Decimal("0"), Decimal("0.06"), Decimal("0.09"), Decimal("0.13"), Decimal("0.0725")])
lines = st.lists(
    st.fixed_dictionaries(
        {
            "quantity": st.one_of(st.just(Decimal("1")), quantities),
            "unit_price": st.one_of(
                amounts, st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("99999"), places=6)
            ),
            "tax_rate": rates,
        }
    ),
    min_size=1,
    max_size=4,
)


def _post(client, token, path, body=None):
    response = client.post(
        path, data=json.dumps(body or {}, default=str), content_type="application/json", **_auth(token)
    )
    assert response.status_code < 500, (path, body, response.content[:500])
    return response


def _auth(token):
    return {"HTTP_AUTHORIZATION": bearer(token)["Authorization"]}


def test_the_reported_case_is_exact(client, write_token):
    """One line, quantity 1, unit price 63961.05, tax 0.09: a 500 on SQLite before."""
    organization = chinese_organization()
    created = _post(
        client,
        write_token,
        "/api/v1/invoices",
        {
            "organization": organization.pk,
            "currency": "CNY",
            "lines": [
                {"description": "licence", "quantity": "1", "unit_price": "63961.05", "tax_rate": "0.09"}
            ],
        },
    )
    assert created.status_code == 201, created.content
    invoice = Invoice.objects.get(pk=created.json()["id"])
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (
        Decimal("63961.05"),
        Decimal("5756.49"),
        Decimal("69717.54"),
    )
    assert _post(client, write_token, f"/api/v1/invoices/{invoice.pk}/issue").status_code == 200


@given(lines=lines, paid_share=st.sampled_from([Decimal("0"), Decimal("0.5"), Decimal("1")]))
@hypothesis_settings(
    max_examples=40 if settings.DATABASE_VENDOR == "sqlite" else 25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_random_invoices_payments_and_credit_notes_never_fail(client, write_token, lines, paid_share):
    organization = chinese_organization()
    body = {
        "organization": organization.pk,
        "currency": "CNY",
        "lines": [{"description": f"line {i}", **line} for i, line in enumerate(lines)],
    }
    created = _post(client, write_token, "/api/v1/invoices", body)
    if created.status_code != 201:  # refused input is a clear 4xx, never a 500
        assert created.json()["code"] in {"invalid_input", "amount_out_of_range"}, created.content
        return
    invoice = Invoice.objects.get(pk=created.json()["id"])
    parts = list(invoice.lines.all())
    assert invoice.net_total == sum((p.net for p in parts), Decimal(0))
    assert invoice.tax_total == sum((p.tax for p in parts), Decimal(0))
    assert invoice.gross_total == invoice.net_total + invoice.tax_total
    for part in parts:
        assert part.gross == part.net + part.tax

    issued = _post(client, write_token, f"/api/v1/invoices/{invoice.pk}/issue")
    if invoice.gross_total <= 0:  # sub-cent prices round to nothing: refused with a reason
        assert issued.status_code == 409 and issued.json()["code"] == "invoice_total_not_positive", (
            issued.content
        )
        return
    assert issued.status_code == 200, issued.content
    invoice.refresh_from_db()
    paid = (invoice.gross_total * paid_share).quantize(CENT)
    if paid > 0:
        payment = _post(
            client,
            write_token,
            "/api/v1/payments",
            {"amount": paid, "currency": "CNY", "allocations": [{"invoice": invoice.pk, "amount": paid}]},
        )
        assert payment.status_code == 201, payment.content
    invoice.refresh_from_db()
    expected = {Decimal(0): "unpaid", invoice.gross_total: "paid"}.get(paid, "partial")
    assert invoice.payment_status == expected, (paid, invoice.gross_total)
    if paid < invoice.gross_total:
        credit = _post(client, write_token, f"/api/v1/invoices/{invoice.pk}/credit", {"reason": "property"})
        assert credit.status_code == 201, credit.content
        note = Invoice.objects.get(pk=credit.json()["id"])
        assert note.gross_total == note.net_total + note.tax_total
