"""Support economics (seed 002 §4) against a fixture computed by hand, to the cent.

October and November 2026, two customers, three engineers:

  engineers  wang  monthly 24,000.00 from 2026-01-01          → Oct 24,000.00, Nov 24,000.00
             li    monthly 18,600.00 from 2026-10-16          → Oct 16/31 × 18,600 = 9,600.00, Nov 18,600.00
             zhao  hourly 300.00                              → Oct 1.5 h = 450.00, Nov 200 min = 1,000.00
  costs      helpdesk (tool) 3,100.00 / month, open          → 3,100.00 each month
             training room (operation) 900.00, 11–20 Oct     → 10/31 × 900 = 290.32
             phone and travel (operation) 1,500.00, November → 1,500.00
  time       Oct: wang A 600 min, wang B 300, li B 120, zhao A 90 (A 690, B 420 of 1,110)
             Nov: li A 240, li B 480, zhao B 200 (A 240, B 680 of 920); wang logs nothing in November
  revenue    Oct: A invoice: licence 30,000 + training 2 × 4,000
             Nov: A invoice: maintenance 10,000; B invoice: licence 150,000 + development 20 h × 1,500,
                  then a credit note for 5 h (−7,500); a December invoice and a draft stay out

  allocation Oct: wang 24,000 → A 16,000.00, B 8,000.00; li 9,600 → B; zhao 450 → A
                  helpdesk 3,100 × 690/1,110 = 1,927.027… and × 420/1,110 = 1,172.972…: the spare cent
                  goes to the larger remainder → A 1,927.03, B 1,172.97
                  training 290.32 → A 180.466… B 109.854… → A 180.47, B 109.85
             Nov: wang 24,000 unallocated; li 18,600 → A 6,200.00, B 12,400.00; zhao 1,000 → B
                  helpdesk 3,100 × 240/920 = 808.695…, × 680/920 = 2,291.304… → A 808.70, B 2,291.30
                  phone 1,500 × 240/920 = 391.304…, × 680/920 = 1,108.695… → A 391.30, B 1,108.70
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from billing import services as billing
from billing.models import TaxCategory
from billing.reports.support_economics import allocate, support_economics
from support.models import CostBasis, StaffCostRate, SupportCost, SupportCostKind
from support.services import time_entry_add
from tests.billing.factories import chinese_organization, line, uscc
from tests.factories import ContractFactory, MembershipFactory, UserFactory, edition
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db

D = Decimal


def invoice(organization: Any, contract: Any, issued: date, *lines: Any, draft: bool = False) -> Any:
    document = billing.invoice_create(
        actor=None, organization=organization, currency="CNY", contract=contract, lines=list(lines)
    )
    return document if draft else billing.invoice_issue(actor=None, invoice=document, issue_date=issued)


@pytest.fixture
def fixture(db: Any) -> dict[str, Any]:
    org_a = chinese_organization(name="甲 Alpha Devices")
    org_b = chinese_organization(name="乙 Beta Energy", taxpayer_id=uscc("91440300MA5F1B2C3"))
    standard = ContractFactory(organization=org_a, edition=edition("standard"), custom_dev_hours=0)
    enterprise = ContractFactory(organization=org_b, edition=edition("enterprise"), custom_dev_hours=0)
    alice = MembershipFactory(organization=org_a, user=UserFactory(email="alice@alpha.example")).user
    bob = MembershipFactory(organization=org_b, user=UserFactory(email="bob@beta.example")).user
    ticket_a = open_ticket(alice, standard)
    ticket_b = open_ticket(bob, enterprise)

    wang = UserFactory(username="wang", first_name="Wang", last_name="Fang", is_staff=True)
    li = UserFactory(username="li", first_name="Li", last_name="Na", is_staff=True)
    zhao = UserFactory(username="zhao", first_name="Zhao", last_name="Lei", is_staff=True)
    StaffCostRate.objects.create(user=wang, amount=D("24000.00"), valid_from=date(2026, 1, 1))
    StaffCostRate.objects.create(user=li, amount=D("18600.00"), valid_from=date(2026, 10, 16))
    StaffCostRate.objects.create(
        user=zhao, basis=CostBasis.HOUR, amount=D("300.00"), valid_from=date(2026, 1, 1)
    )
    SupportCost.objects.create(
        kind=SupportCostKind.TOOL, name="Helpdesk", monthly_amount=D("3100.00"), valid_from=date(2026, 1, 1)
    )
    SupportCost.objects.create(
        kind=SupportCostKind.OPERATION,
        name="Training room",
        monthly_amount=D("900.00"),
        valid_from=date(2026, 10, 11),
        valid_until=date(2026, 10, 20),
    )
    SupportCost.objects.create(
        kind=SupportCostKind.OPERATION,
        name="Phone and travel",
        monthly_amount=D("1500.00"),
        valid_from=date(2026, 11, 1),
        valid_until=date(2026, 11, 30),
    )
    for user, ticket, minutes, day in [
        (wang, ticket_a, 600, date(2026, 10, 5)),
        (wang, ticket_b, 300, date(2026, 10, 20)),
        (li, ticket_b, 120, date(2026, 10, 25)),
        (zhao, ticket_a, 90, date(2026, 10, 7)),
        (li, ticket_a, 240, date(2026, 11, 3)),
        (li, ticket_b, 480, date(2026, 11, 10)),
        (zhao, ticket_b, 200, date(2026, 11, 12)),
        (wang, ticket_a, 60, date(2026, 12, 1)),  # outside the period
    ]:
        time_entry_add(actor=user, ticket=ticket, minutes=minutes, user=user, work_date=day)

    lic = TaxCategory.SOFTWARE_LICENSE
    invoice(
        org_a,
        standard,
        date(2026, 10, 10),
        line("Standard edition, 1 year", unit_price="30000", tax_category=lic),
        line(
            "On-site training",
            quantity="2",
            unit_price="4000",
            tax_rate="0.06",
            tax_category=TaxCategory.SERVICES,
        ),
    )
    invoice(
        org_a,
        standard,
        date(2026, 11, 15),
        line("Maintenance", unit_price="10000", tax_rate="0.06", tax_category=TaxCategory.MAINTENANCE),
    )
    enterprise_invoice = invoice(
        org_b,
        enterprise,
        date(2026, 11, 5),
        line("Enterprise edition, 1 year", unit_price="150000", tax_category=lic),
        line(
            "Custom development",
            quantity="20",
            unit_price="1500",
            tax_rate="0.06",
            tax_category=TaxCategory.CUSTOM_DEVELOPMENT,
        ),
    )
    development = enterprise_invoice.lines.get(tax_category=TaxCategory.CUSTOM_DEVELOPMENT)
    billing.invoice_credit(
        actor=None, invoice=enterprise_invoice, lines={development.pk: D("5")}, issue_date=date(2026, 11, 20)
    )
    invoice(org_a, standard, date(2026, 12, 1), line("Next year", unit_price="99999", tax_category=lic))
    invoice(
        org_b, enterprise, date(2026, 11, 1), line("Draft", unit_price="88888", tax_category=lic), draft=True
    )
    return {"a": org_a, "b": org_b, "standard": standard, "enterprise": enterprise}


def test_allocation_splits_to_the_cent_by_largest_remainder():
    assert allocate(D("3100.00"), [("a", 690), ("b", 420)]) == {"a": D("1927.03"), "b": D("1172.97")}
    assert allocate(D("0.01"), [("a", 1), ("b", 1)]) == {"a": D("0.01"), "b": D("0.00")}
    assert allocate(D("10.00"), [("a", 0)]) == {}


def test_the_figures_match_the_hand_computed_fixture(fixture):
    report = support_economics(date_from=date(2026, 10, 1), date_to=date(2026, 11, 30))
    october, november = report.months
    assert (october.label, november.label) == ("2026-10", "2026-11")

    assert october.revenue["subscription"] == D("30000.00") and october.revenue["consulting"] == D("8000.00")
    assert october.revenue_total == D("38000.00")
    assert (october.staff_cost, october.tool_cost, october.operation_cost) == (
        D("34050.00"),
        D("3100.00"),
        D("290.32"),
    )
    assert (
        october.cost_total == D("37440.32")
        and october.profit == D("559.68")
        and october.margin == D("0.0147")
    )
    assert (october.minutes, october.engineers) == (1110, 2)

    assert november.revenue == {
        "subscription": D("150000.00"),
        "maintenance": D("10000.00"),
        "saas": D("0"),
        "consulting": D("0"),
        "development": D("22500.00"),
        "other": D("0"),
    }
    assert (november.staff_cost, november.tool_cost, november.operation_cost) == (
        D("43600.00"),
        D("3100.00"),
        D("1500.00"),
    )
    assert november.profit == D("134300.00") and november.margin == D("0.7359")

    total = report.total
    assert total.revenue_total == D("220500.00") and total.cost_total == D("85640.32")
    assert total.profit == D("134859.68") and total.margin == D("0.6116")

    by_customer = {line.key: line for line in report.customers}
    a, b, unallocated = by_customer[fixture["a"].pk], by_customer[fixture["b"].pk], by_customer["unallocated"]
    assert (a.revenue_total, a.staff_cost, a.tool_cost, a.operation_cost) == (
        D("48000.00"),
        D("22650.00"),
        D("2735.73"),
        D("571.77"),
    )
    assert a.cost_total == D("25957.50") and a.profit == D("22042.50") and a.margin == D("0.4592")
    assert (b.revenue_total, b.staff_cost, b.tool_cost, b.operation_cost) == (
        D("172500.00"),
        D("31000.00"),
        D("3464.27"),
        D("1218.55"),
    )
    assert b.cost_total == D("35682.82") and b.profit == D("136817.18") and b.margin == D("0.7931")
    assert unallocated.staff_cost == D("24000.00") and unallocated.revenue_total == D("0")
    assert [line.key for line in report.customers] == [fixture["b"].pk, fixture["a"].pk, "unallocated"]
    assert sum((line.profit for line in report.customers), D("0")) == total.profit

    by_edition = {line.label: line for line in report.editions}
    standard, enterprise = fixture["standard"].edition, fixture["enterprise"].edition
    assert by_edition[standard.name].profit == D("22042.50")
    assert by_edition[enterprise.name].profit == D("136817.18")
    assert sum((line.cost_total for line in report.editions), D("0")) == total.cost_total

    engineers = {e.name: e for e in report.engineers}
    assert engineers["Wang Fang"].total == D("48000.00")
    assert engineers["Li Na"].total == D("28200.00")
    assert (engineers["Zhao Lei"].hourly, engineers["Zhao Lei"].hours) == (D("1450.00"), D("4.83"))


def _cell(html: str, table: str, key: Any, css: str) -> str:
    body = html.split(f'id="economics-{table}"', 1)[1].split("</table>", 1)[0]
    row = body.split(f'data-key="{key}"', 1)[1].split("</tr>", 1)[0]
    return re.search(rf'class="num {css}[^"]*">([^<]*)<', row).group(1)


def test_the_page_and_its_csv_show_the_same_figures(fixture, admin_client):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    url = reverse("admin:support_supporteconomicsreport_changelist")
    response = admin_client.get(url, {"date_from": "2026-10-01", "date_to": "2026-11-30"})
    assert response.status_code == 200
    html = response.content.decode()
    assert _cell(html, "months", "2026-10-01", "profit") == "559.68"
    assert _cell(html, "months", "2026-10-01", "margin") == "1.5 %"
    assert _cell(html, "customers", fixture["a"].pk, "cost") == "25,957.50"
    assert _cell(html, "customers", fixture["b"].pk, "profit") == "136,817.18"
    assert _cell(html, "customers", "unallocated", "profit") == "-24,000.00"
    assert _cell(html, "editions", "total", "profit") == "134,859.68"
    assert 'id="card-profit"' in html and "134,859.68" in html
    assert "<svg" in html  # the charts
    # The definitions follow seed 002 §4.
    assert "Cost = salary × number of employees + tool cost + operation cost" in html
    assert "profit = revenue − cost" in html

    csv_response = admin_client.get(
        url, {"date_from": "2026-10-01", "date_to": "2026-11-30", "table": "customers"}
    )
    assert csv_response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    header = next(r for r in rows if r and r[0] == "customer")
    by_name = {r[0]: dict(zip(header, r, strict=True)) for r in rows[rows.index(header) + 1 :] if r}
    assert by_name["甲 Alpha Devices"]["profit"] == "22042.50"
    assert by_name["乙 Beta Energy"]["revenue: custom development"] == "22500.00"
    assert by_name["total"]["cost"] == "85640.32"
    assert admin_client.get(url, {"table": "nope"}).status_code == 404


def test_the_page_is_for_staff_with_permission(fixture, client):
    url = reverse("admin:support_supporteconomicsreport_changelist")
    client.force_login(UserFactory(email="alice2@alpha.example"))  # a customer
    assert client.get(url).status_code == 302
    client.force_login(UserFactory(username="clerk", is_staff=True))  # staff without the permission
    assert client.get(url).status_code == 403


def test_the_page_in_chinese(fixture, admin_client):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    url = reverse("admin:support_supporteconomicsreport_changelist")
    html = admin_client.get(url, {"date_from": "2026-10-01", "date_to": "2026-11-30"}).content.decode()
    assert "客服经济效益" in html and "利润" in html
    assert _cell(html, "customers", fixture["b"].pk, "profit") == "136,817.18"
