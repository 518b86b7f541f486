"""Bank statements finance uploads (对账单), their rows and what each row was matched to; and the
fapiao (数电票) the tax bureau's e-invoice service issued for our invoices."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from editions.models import Currency


class BankStatementImport(models.Model):
    """One uploaded statement file. The same file (by content hash) is imported once."""

    file = models.FileField(_("file"), upload_to="billing/statements/%Y/%m/")
    file_name = models.CharField(_("file name"), max_length=255)
    file_sha256 = models.CharField(_("content hash"), max_length=64, unique=True)
    layout = models.CharField(_("layout"), max_length=30)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    rows = models.PositiveIntegerField(_("rows read"), default=0)
    credits = models.PositiveIntegerField(_("incoming transfers"), default=0)
    new_rows = models.PositiveIntegerField(_("new rows"), default=0)
    known_rows = models.PositiveIntegerField(_("rows already imported"), default=0)
    matched = models.PositiveIntegerField(_("matched"), default=0)
    proposed = models.PositiveIntegerField(_("proposed"), default=0)
    unmatched = models.PositiveIntegerField(_("unmatched"), default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("imported"), default=timezone.now)

    class Meta:
        verbose_name = _("bank statement")
        verbose_name_plural = _("bank statements")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({timezone.localtime(self.created_at):%Y-%m-%d})"


class StatementLineStatus(models.TextChoices):
    MATCHED = "matched", pgettext_lazy("billing", "matched and allocated")
    PROPOSED = "proposed", pgettext_lazy("billing", "match proposed")
    UNMATCHED = "unmatched", pgettext_lazy("billing", "unmatched")
    CONFIRMED = "confirmed", pgettext_lazy("billing", "proposal confirmed")
    RECORDED = "recorded", pgettext_lazy("billing", "recorded for manual allocation")
    KNOWN = "known", pgettext_lazy("billing", "payment already recorded")
    IGNORED = "ignored", pgettext_lazy("billing", "not a customer payment")
    OUTGOING = "outgoing", pgettext_lazy("billing", "outgoing")


class BankStatementLine(models.Model):
    """One row of a statement. Its fingerprint (booking time, amount, counterparty, memo, bank serial and
    its ordinal among identical rows) makes re-imports and overlapping statements add nothing."""

    statement = models.ForeignKey(
        BankStatementImport, verbose_name=_("bank statement"), on_delete=models.CASCADE, related_name="lines"
    )
    row_number = models.PositiveIntegerField(_("row"))
    fingerprint = models.CharField(_("fingerprint"), max_length=64, unique=True)
    booked_at = models.DateTimeField(_("booked"), db_index=True)
    amount = models.DecimalField(
        _("amount"), max_digits=18, decimal_places=2, help_text=_("Positive: money in; negative: money out.")
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.CNY)
    payer_name = models.CharField(_("counterparty"), max_length=200, blank=True)
    payer_account = models.CharField(_("counterparty account"), max_length=60, blank=True)
    payer_bank = models.CharField(_("counterparty bank"), max_length=200, blank=True)
    memo = models.CharField(_("memo"), max_length=300, blank=True)
    reference = models.CharField(_("bank reference"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=StatementLineStatus.choices, db_index=True)
    proposal = models.JSONField(
        _("proposed allocation"),
        default=list,
        blank=True,
        help_text=_("Invoices and amounts the matcher suggests: [{invoice, number, amount}]."),
    )
    reason = models.CharField(_("why"), max_length=300, blank=True)
    payment = models.ForeignKey(
        "billing.Payment",
        verbose_name=_("payment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="statement_lines",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("bank statement row")
        verbose_name_plural = _("bank statement rows")
        ordering = ["statement_id", "row_number"]

    def __str__(self) -> str:
        return f"{timezone.localtime(self.booked_at):%Y-%m-%d} {self.amount} {self.payer_name}"


class FapiaoDocument(models.Model):
    """A fapiao (数电票) issued by the tax bureau's e-invoice service for one of our invoices, imported
    back from its batch result with the PDF the customer downloads in the portal."""

    invoice = models.ForeignKey(
        "billing.Invoice",
        verbose_name=_("invoice"),
        on_delete=models.PROTECT,
        related_name="fapiao_documents",
    )
    fapiao_number = models.CharField(_("fapiao number"), max_length=20, unique=True)
    issued_on = models.DateField(_("fapiao issued on"), null=True, blank=True)
    pdf = models.FileField(_("PDF"), upload_to="billing/fapiao/%Y/%m/", blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("imported"), default=timezone.now)

    class Meta:
        verbose_name = _("fapiao (数电票)")
        verbose_name_plural = _("fapiao (数电票)")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.fapiao_number
