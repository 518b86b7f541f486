"""数电票 batch issuance: export paid domestic invoices for the tax bureau's e-invoice service, and
import what it issued (fapiao numbers, PDFs), attached to our invoices and shown in the portal."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from billing.errors import BillingError, billing_error
from billing.fapiao import pdfs_in, read_result, write_batch
from billing.models import DocumentKind, FapiaoDocument, Invoice, InvoiceStatus, PaymentStatus
from billing.services.invoices import invoice_set_fapiao
from portal.core.actors import Actor, actor_user
from portal.core.services import audit


def fapiao_exportable(invoice: Invoice) -> str:
    """Why the invoice cannot go into the batch file, or "" when it can."""
    if invoice.kind != DocumentKind.INVOICE or invoice.status != InvoiceStatus.ISSUED:
        return _("not an issued invoice")
    if invoice.currency != "CNY":
        return _("not in CNY")
    if invoice.payment_status != PaymentStatus.PAID:
        return _("not paid")
    if invoice.fapiao_number:
        return _("already has fapiao %(number)s") % {"number": invoice.fapiao_number}
    return ""


@dataclass
class FapiaoExport:
    content: bytes
    included: list[str]
    skipped: dict[str, str]


def fapiao_export(*, actor: Actor, invoices: Any) -> FapiaoExport:
    """The batch-issuance workbook of the paid CNY invoices among `invoices` without a fapiao yet."""
    chosen, skipped = [], {}
    for invoice in invoices.select_related("organization", "contract", "edition").prefetch_related(
        "lines__module"
    ):
        reason = fapiao_exportable(invoice)
        if reason:
            skipped[str(invoice)] = reason
        else:
            chosen.append(invoice)
    buffer = io.BytesIO()
    write_batch(chosen, buffer)
    with transaction.atomic():
        for invoice in chosen:
            audit(actor=actor, action="invoice.fapiao_export", target=invoice)
    return FapiaoExport(buffer.getvalue(), [i.number for i in chosen], skipped)


@dataclass
class FapiaoImport:
    recorded: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    pdfs: int = 0
    problems: list[str] = field(default_factory=list)


@transaction.atomic(durable=True)
def fapiao_import(
    *, actor: Actor, result: tuple[str, bytes] | None = None, files: Sequence[tuple[str, bytes]] = ()
) -> FapiaoImport:
    """Record the fapiao numbers of the batch result on our invoices (linked by 发票流水号 = invoice
    number) and attach the PDFs (found by the fapiao number in their file names). Importing the same
    result again changes nothing; a PDF may come later than its number."""
    outcome = FapiaoImport()
    issued = read_result(result[1], result[0]) if result else []
    if result and not issued:
        raise billing_error(
            BillingError.FAPIAO_IMPORT_INVALID,
            _("No rows with 发票流水号 and a fapiao number were found in the result file."),
            status=400,
        )
    invoices = {i.number: i for i in Invoice.objects.filter(number__in=[r.invoice_number for r in issued])}
    for row in issued:
        invoice = invoices.get(row.invoice_number)
        if invoice is None:
            outcome.problems.append(_("%(serial)s: no such invoice") % {"serial": row.invoice_number})
            continue
        document = FapiaoDocument.objects.filter(fapiao_number=row.fapiao_number).first()
        if document is not None:
            if document.invoice_id != invoice.pk:
                outcome.problems.append(
                    _("%(number)s is already attached to %(invoice)s")
                    % {"number": row.fapiao_number, "invoice": document.invoice}
                )
            else:
                outcome.already.append(row.fapiao_number)
            continue
        invoice_set_fapiao(
            actor=actor, invoice=invoice, fapiao_number=row.fapiao_number, issued_on=row.issued_on
        )
        FapiaoDocument.objects.create(
            invoice=invoice,
            fapiao_number=row.fapiao_number,
            issued_on=row.issued_on,
            imported_by=actor_user(actor),
        )
        outcome.recorded.append(row.fapiao_number)
    for number, (name, data) in pdfs_in(files).items():
        document = FapiaoDocument.objects.select_for_update().filter(fapiao_number=number).first()
        if document is None:
            outcome.problems.append(
                _("%(name)s: no fapiao %(number)s recorded") % {"name": name, "number": number}
            )
            continue
        if document.pdf:
            continue
        document.pdf.save(f"{number}.pdf", ContentFile(data), save=True)
        audit(
            actor=actor, action="invoice.fapiao_pdf", target=document.invoice, data={"fapiao_number": number}
        )
        outcome.pdfs += 1
    return outcome
