"""Bank statement import: each incoming transfer becomes a payment once. Rows whose memo names open
invoices are recorded and allocated at once (partly, or over several invoices, as the money goes);
rows matched only by payer or amount wait as proposals for finance to confirm in admin; the rest stay
unmatched until someone records or ignores them. The same file (or an overlapping statement) imported
again adds nothing: files are known by content hash, rows by fingerprint."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.errors import BillingError, billing_error
from billing.models import (
    BankStatementImport,
    BankStatementLine,
    Invoice,
    Payment,
    PaymentKind,
    PaymentMethod,
    StatementLineStatus,
)
from billing.services.payments import payment_record
from billing.statements import Matcher, OpenItem, StatementRow, layout_for, normalize_name, read_statement
from customers.models import Organization
from portal.core.actors import Actor, actor_user
from portal.core.services import audit


def statement_external_id(fingerprint: str) -> str:
    return f"bank:{fingerprint}"


def _matcher() -> Matcher:
    open_invoices = list(
        Invoice.objects.open().values_list(
            "pk",
            "number",
            "organization_id",
            "currency",
            "gross_total",
            "amount_credited",
            "amount_paid",
            "due_date",
        )
    )
    items = [
        OpenItem(pk, number, org, currency, gross + credited - paid, due)
        for pk, number, org, currency, gross, credited, paid, due in open_invoices
    ]
    names: dict[str, set[int]] = {}
    orgs = {i.organization_id for i in items}
    for pk, name, title in Organization.objects.filter(pk__in=orgs).values_list(
        "pk", "name", "invoice_title"
    ):
        for value in (name, title):
            if value:
                names.setdefault(normalize_name(value), set()).add(pk)
    return Matcher(items, names)


def _known_payment(row: StatementRow) -> Payment | None:
    """A transfer finance already recorded by hand (same bank serial and amount)."""
    if not row.reference:
        return None
    return Payment.objects.filter(
        kind=PaymentKind.PAYMENT, reference=row.reference, amount=row.amount, currency=row.currency
    ).first()


@transaction.atomic(durable=True)
def bank_statement_import(
    *,
    actor: Actor,
    file_name: str,
    content: bytes,
    layout: str,
    mapping: dict[str, Any] | None = None,
    currency: str = "CNY",
) -> tuple[BankStatementImport, bool]:
    """Import a statement file. Returns (the import, created); a file imported before returns its
    earlier import and changes nothing."""
    digest = hashlib.sha256(content).hexdigest()
    earlier = BankStatementImport.objects.filter(file_sha256=digest).first()
    if earlier is not None:
        return earlier, False
    rows, _skipped = read_statement(content, file_name, layout_for(layout, mapping), currency=currency)
    statement = BankStatementImport(
        file_name=file_name[:255],
        file_sha256=digest,
        layout=layout,
        mapping=mapping or {},
        imported_by=actor_user(actor),
    )
    statement.file.save(file_name[-100:] or "statement", ContentFile(content), save=False)
    statement.save()
    known = set(
        BankStatementLine.objects.filter(fingerprint__in=[r.fingerprint for r in rows]).values_list(
            "fingerprint", flat=True
        )
    )
    matcher = _matcher()
    counts = {"matched": 0, "proposed": 0, "unmatched": 0, "credits": 0, "known_rows": 0}
    for row in rows:
        if row.fingerprint in known:
            counts["known_rows"] += 1
            continue
        known.add(row.fingerprint)
        line = BankStatementLine(
            statement=statement,
            row_number=row.row_number,
            fingerprint=row.fingerprint,
            booked_at=row.booked_at,
            amount=row.amount,
            currency=row.currency,
            payer_name=row.payer_name,
            payer_account=row.payer_account,
            payer_bank=row.payer_bank,
            memo=row.memo,
            reference=row.reference,
        )
        if row.amount <= 0:
            line.status = StatementLineStatus.OUTGOING
            line.save()
            continue
        counts["credits"] += 1
        existing = _known_payment(row)
        if existing is not None:
            line.status, line.payment, line.reason = StatementLineStatus.KNOWN, existing, _("recorded before")
            line.save()
            continue
        match = matcher.match(row)
        line.reason = match.reason[:300]
        line.proposal = [
            {"invoice": item.invoice_id, "number": item.number, "amount": str(amount)}
            for item, amount in match.allocations
        ]
        if match.status == "matched":
            line.payment = _record(
                actor, row, [(item.invoice_id, amount) for item, amount in match.allocations]
            )
            line.status = StatementLineStatus.MATCHED
        else:
            line.status = StatementLineStatus(match.status)
        counts[match.status] += 1
        line.save()
    statement.rows = len(rows)
    statement.new_rows = len(rows) - counts["known_rows"]
    for name, value in counts.items():
        setattr(statement, name, value)
    statement.save()
    audit(
        actor=actor,
        action="payment.statement_import",
        target=statement,
        data={k: v for k, v in counts.items()} | {"file": file_name},
    )
    return statement, True


def _record(
    actor: Actor, row: StatementRow | BankStatementLine, allocations: list[tuple[int, Decimal]]
) -> Payment:
    invoices = {i.pk: i for i in Invoice.objects.filter(pk__in=[pk for pk, _ in allocations])}
    fingerprint = row.fingerprint
    return payment_record(
        actor=actor,
        method=PaymentMethod.BANK_TRANSFER,
        amount=row.amount,
        currency=row.currency,
        received_at=row.booked_at,
        payer_name=row.payer_name,
        payer_account=row.payer_account,
        reference=row.reference,
        memo=row.memo,
        note=_("bank statement import"),
        external_id=statement_external_id(fingerprint),
        allocations=[(invoices[pk], amount) for pk, amount in allocations if amount > 0],
    )


def _lock_line(line: BankStatementLine, allowed: set[str]) -> BankStatementLine:
    line = BankStatementLine.objects.select_for_update().get(pk=line.pk)
    if line.status not in allowed:
        raise billing_error(
            BillingError.STATEMENT_LINE_STATE,
            _("This row is %(status)s; nothing to do.") % {"status": line.get_status_display()},
        )
    return line


@transaction.atomic
def statement_line_confirm(*, actor: Actor, line: BankStatementLine) -> BankStatementLine:
    """Finance accepts the proposed match: the transfer is recorded and allocated as proposed, as far as
    each invoice is still open (whatever is left stays on the payment for the reconciliation page)."""
    line = _lock_line(line, {StatementLineStatus.PROPOSED})
    open_now = {
        pk: gross + credited - paid
        for pk, gross, credited, paid in Invoice.objects.open()
        .filter(pk__in=[p["invoice"] for p in line.proposal])
        .values_list("pk", "gross_total", "amount_credited", "amount_paid")
    }
    allocations = []
    for part in line.proposal:
        amount = min(Decimal(part["amount"]), open_now.get(part["invoice"], Decimal(0)))
        if amount > 0:
            allocations.append((part["invoice"], amount))
            open_now[part["invoice"]] -= amount
    line.payment = _record(actor, line, allocations)
    line.status, line.decided_by, line.decided_at = (
        StatementLineStatus.CONFIRMED,
        actor_user(actor),
        timezone.now(),
    )
    line.save(update_fields=["payment", "status", "decided_by", "decided_at"])
    audit(
        actor=actor, action="payment.statement_confirm", target=line.payment, data={"proposal": line.proposal}
    )
    return line


@transaction.atomic
def statement_line_record(*, actor: Actor, line: BankStatementLine) -> BankStatementLine:
    """Record the transfer without allocating it; finance allocates it on the reconciliation page."""
    line = _lock_line(line, {StatementLineStatus.PROPOSED, StatementLineStatus.UNMATCHED})
    line.payment = _record(actor, line, [])
    line.status, line.decided_by, line.decided_at = (
        StatementLineStatus.RECORDED,
        actor_user(actor),
        timezone.now(),
    )
    line.save(update_fields=["payment", "status", "decided_by", "decided_at"])
    return line


@transaction.atomic
def statement_line_ignore(*, actor: Actor, line: BankStatementLine, reason: str = "") -> BankStatementLine:
    """Not a customer payment (interest, a supplier's refund, an internal transfer)."""
    line = _lock_line(line, {StatementLineStatus.PROPOSED, StatementLineStatus.UNMATCHED})
    line.status, line.decided_by, line.decided_at = (
        StatementLineStatus.IGNORED,
        actor_user(actor),
        timezone.now(),
    )
    line.reason = (reason or line.reason)[:300]
    line.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    audit(
        actor=actor,
        action="payment.statement_ignore",
        target=line.statement,
        data={"line": line.pk, "reason": reason},
    )
    return line


def statement_lines_open() -> Any:
    return BankStatementLine.objects.filter(
        Q(status=StatementLineStatus.PROPOSED) | Q(status=StatementLineStatus.UNMATCHED)
    ).order_by(F("booked_at").asc())
