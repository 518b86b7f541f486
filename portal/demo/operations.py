"""The day-to-day part of the demo data: what the platform, finance, support and sales would have
produced by now. Every row is made by the same services the product uses, so the demo shows real
licenses that verify, invoices with numbers and PDFs, tickets with SLA clocks."""

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from billing.models import Invoice, TaxCategory
from billing.services import LineSpec, invoice_create, invoice_for_contract, invoice_issue, payment_record
from contracts.models import Contract, ContractStatus
from contracts.services import contract_activate, contract_renew
from customers.models import Inquiry
from customers.services import inquiry_create, inquiry_move
from editions.demo import seed_demo_downloads
from licenses.models import ActivationCode
from licenses.services import activation_code_create
from licenses.services.platform import deployment_activate, license_checkin
from portal.demo.knowledge import seed_knowledge_base
from support.models import Ticket
from support.services import ticket_create, ticket_reply


def seed_operations(*, staff: Any, customer: Any, out: Any) -> None:
    # Each part runs once: the demo command is idempotent, and a part that failed is retried next time.
    if not ActivationCode.objects.exists():
        _licenses_and_checkins()
    if not Contract.objects.filter(renewal_of__isnull=False).exists():
        _renewals(staff)
    if not Invoice.objects.exists():
        _invoice_history(staff)  # first, so invoice numbers follow the issue dates
        _invoices(staff)
    if not Ticket.objects.exists():
        _tickets(staff, customer)
    if not Inquiry.objects.exists():
        _inquiries(staff)

    seed_knowledge_base(staff)
    seed_demo_downloads()
    out.write(
        "  Seeded activation codes, deployments with check-ins, a year of invoices and payments, tickets,"
        " inquiries, knowledge-base articles, downloads."
    )


def _licenses_and_checkins() -> None:
    now = timezone.now()
    for contract in Contract.objects.filter(status=ContractStatus.ACTIVE).select_related("edition"):
        code, plain = activation_code_create(actor=None, contract=contract, note="demo")
        if contract.edition.is_metered:
            continue
        # Production, and staging where the allowance leaves a place to spare: the demo code still activates.
        environments = ("production", "staging")[: max(1, min(2, code.max_deployments - 1))]
        for n, environment in enumerate(environments):
            # Running since the contract started (a year at most): monthly check-ins, then daily for the
            # last two weeks (within the platform's 30 check-ins an hour per deployment), a fleet that
            # grows with some noise.
            started = max(contract.start_date, timezone.localdate() - timedelta(days=HISTORY_DAYS))
            first_day = min((timezone.localdate() - started).days, HISTORY_DAYS)
            answer = deployment_activate(
                code=plain,
                machine_id=f"demo-{contract.number}-{n}",
                hostname=f"iot-{environment}-{n + 1}.{contract.organization_id}.example",
                platform_version="3.2.0" if first_day > 120 else "3.4.1",
                environment=environment,
                source_ip="203.0.113.10",
                now=now - timedelta(days=first_day),
            )
            token = answer.license.token
            limit = contract.effective_device_limit or 5000
            days = sorted(
                {*range(first_day - 1, 14, -30), *range(min(first_day - 1, 14), -1, -1)}, reverse=True
            )
            for day in days:
                share = 0.25 + 0.6 * (first_day - day) / max(first_day, 1) + 0.03 * ((day * 7) % 5 - 2)
                count = max(1, int(limit * min(share, 0.95))) if n == 0 else 8 + day % 5
                result = license_checkin(
                    token=token,
                    machine_id=f"demo-{contract.number}-{n}",
                    device_count=count,
                    platform_version="3.4.1" if day < 90 else "3.2.0",
                    source_ip="203.0.113.10",
                    now=now - timedelta(days=day, hours=n),
                )
                token = result.license.token


def _invoices(staff: Any) -> None:
    first_paid = False
    contracts = Contract.objects.filter(status=ContractStatus.ACTIVE, edition__is_metered=False)
    for contract in contracts.select_related("edition", "organization"):
        invoice = invoice_for_contract(actor=staff, contract=contract, issue=True)
        if invoice is not None and not first_paid:
            payment_record(
                actor=staff,
                method="bank_transfer",
                amount=invoice.gross_total,
                currency=invoice.currency,
                payer_name=contract.organization.name,
                reference="DEMO-TRANSFER-0001",
                memo=invoice.number or "",
                allocations=[(invoice, invoice.gross_total)],
            )
            first_paid = True


def _renewals(staff: Any) -> None:
    """The contracts ending within two months are renewed: the auto-renewing one signed and active (its
    next term is invoiced), the others as drafts in the sales pipeline."""
    horizon = timezone.localdate() + timedelta(days=60)
    ending = Contract.objects.filter(
        status=ContractStatus.ACTIVE, end_date__lte=horizon, edition__is_metered=False
    ).order_by("end_date")
    for contract in ending:
        renewal = contract_renew(actor=staff, contract=contract, uplift_percent=Decimal("5"))
        if contract.auto_renew:
            contract_activate(actor=staff, contract=renewal)


# Monthly support and operations services over the last year for a few customers: issue dates spread over
# 12 months, paid after 1–7 weeks, the last months partly open, one customer 100+ days late, so the aging,
# overdue and monthly charts have a shape.
HISTORY_MONTHS = 12
HISTORY_DAYS = 365


def _invoice_history(staff: Any) -> None:
    today = timezone.localdate()
    organizations = [
        contract.organization
        for contract in Contract.objects.filter(
            status=ContractStatus.ACTIVE, currency="CNY", edition__is_metered=False
        )
        .select_related("organization")
        .order_by("organization__name")[:4]
    ]
    issued: list[tuple[Any, int, int]] = []
    for months_ago in range(HISTORY_MONTHS, 0, -1):
        for index, organization in enumerate(organizations):
            issue_date = today - timedelta(days=30 * months_ago - 3 * index)
            hours = 8 + (months_ago * 7 + index * 11) % 33
            invoice = invoice_create(
                actor=staff,
                organization=organization,
                currency="CNY",
                lines=[
                    LineSpec(
                        description=f"技术支持与运维服务 {issue_date:%Y-%m}",
                        quantity=Decimal(hours),
                        unit_price=Decimal("800"),
                        tax_category=TaxCategory.SERVICES,
                        unit="小时",
                    )
                ],
            )
            invoice = invoice_issue(actor=staff, invoice=invoice, issue_date=issue_date)
            issued.append((invoice, months_ago, index))
    for invoice, months_ago, index in issued:
        late_payer = index == len(organizations) - 1 and months_ago <= 5
        if months_ago == 1 or late_payer:
            continue  # not yet due, or overdue
        amount = invoice.gross_total
        if months_ago == 2 and index % 2:
            amount = (amount / 2).quantize(Decimal("0.01"))  # paid in part
        received = invoice.issue_date + timedelta(days=7 + (months_ago * 5 + index * 9) % 43)
        payment_record(
            actor=staff,
            method="bank_transfer",
            amount=amount,
            currency=invoice.currency,
            received_at=timezone.make_aware(datetime.combine(min(received, today), time(10))),
            payer_name=invoice.organization.name,
            reference=f"DEMO-{invoice.number}",
            memo=invoice.number,
            allocations=[(invoice, amount)],
        )


def _tickets(staff: Any, customer: Any) -> None:
    organization = customer.memberships.select_related("organization").first().organization
    contract = organization.contracts.filter(status=ContractStatus.ACTIVE).first()
    ticket = ticket_create(
        actor=customer,
        organization=organization,
        requester=customer,
        contract=contract,
        subject="设备离线告警延迟 / Offline alerts arrive late",
        body="部分门店设备离线后 10 分钟才收到告警，请协助排查。",
        priority="P2",
        category="incident",
    )
    ticket_reply(actor=staff, ticket=ticket, body="已收到，我们正在查看告警队列的积压情况。")
    ticket_create(
        actor=customer,
        organization=organization,
        requester=customer,
        contract=contract,
        subject="如何配置零售模块的门店分组？",
        body="想按城市对门店分组，文档里没找到对应的配置项。",
        priority="P4",
        category="question",
    )


def _inquiries(staff: Any) -> None:
    samples = [
        (
            "宁波港口集团",
            "logistics",
            "large",
            ["source_code", "private_deployment"],
            ["data_security", "compliance"],
            "source",
        ),
        ("福州小鹿便利店", "retail", "small", ["saas", "price"], ["cost"], "saas"),
        (
            "合肥新能源车队",
            "vehicle",
            "medium",
            ["customization", "private_deployment"],
            ["customization"],
            "enterprise",
        ),
        ("厦门农商银行", "finance", "large", ["source_code"], ["compliance", "data_security"], "source"),
        (
            "长沙智造集成商",
            "software",
            "small",
            ["source_code", "customization"],
            ["reselling"],
            "partner_programme",
        ),
    ]
    for i, (company, industry, size, interests, motives, offer) in enumerate(samples):
        inquiry = inquiry_create(
            actor=staff,
            channel="web_form" if i % 2 else "phone",
            company_name=company,
            contact_name="采购负责人",
            contact_email=f"buyer{i}@prospect.example",
            industry=industry,
            company_size=size,
            country="CN",
            interests=interests,
            motives=motives,
            recommended_offer=offer,
            message="希望了解私有化部署和源码授权的区别。",
            owner=staff,
        )
        if i < 3:
            inquiry_move(actor=staff, inquiry=inquiry, stage="qualified")
        if i == 2:
            inquiry_move(actor=staff, inquiry=inquiry, stage="lost", lost_reason="competitor")
