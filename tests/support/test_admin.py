"""The back office: tickets created and answered through services, calendars validated and imported,
the reports page linked from the support section."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from support.models import Calendar, CalendarDay, Ticket, TicketStatus, TimeEntry
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db


def management_data(client, url: str) -> dict:
    """The inline formsets' management forms of an admin change page, as a browser would post them."""
    data = {}
    for inline in client.get(url).context["inline_admin_formsets"]:
        form = inline.formset.management_form
        data.update({f"{form.prefix}-{name}": value for name, value in form.initial.items()})
    return data


@pytest.fixture
def admin_client(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    return client


def test_staff_creates_a_ticket_for_a_customer(admin_client, member, standard_contract):
    response = admin_client.post(
        reverse("admin:support_ticket_add"),
        {
            "organization": standard_contract.organization_id,
            "contract": standard_contract.pk,
            "requester": member.pk,
            "subject": "Phoned in",
            "body": "Customer called about GW-7.",
            "priority": "P2",
            "category": "incident",
            "deployment_ref": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket = Ticket.objects.get(subject="Phoned in")
    assert ticket.first_response_due_at is not None
    assert ticket.messages.get().from_customer


def test_staff_answers_assigns_and_logs_time(admin_client, member, enterprise_contract, agent):
    ticket = open_ticket(member, enterprise_contract, category="custom_development")
    url = reverse("admin:support_ticket_change", args=[ticket.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(
        url,
        {
            "status": TicketStatus.PENDING_CUSTOMER,
            "priority": "P2",
            "assignee": agent.pk,
            "reply_body": "Please send the logs.",
            "log_minutes": 90,
            "log_description": "analysis",
            **management_data(admin_client, url),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == (TicketStatus.PENDING_CUSTOMER, "P2", agent)
    assert ticket.messages.filter(from_customer=False, body="Please send the logs.").exists()
    assert TimeEntry.objects.get(ticket=ticket).minutes == 90
    assert ticket.first_response_met_at is not None


def test_invalid_transition_in_admin_is_a_message_not_a_500(admin_client, member, standard_contract):
    from support import services

    ticket = open_ticket(member, standard_contract)
    services.ticket_transition(actor=None, ticket=ticket, status=TicketStatus.RESOLVED)
    services.ticket_transition(actor=None, ticket=ticket, status=TicketStatus.CLOSED)
    url = reverse("admin:support_ticket_change", args=[ticket.pk])
    response = admin_client.post(
        url,
        {"status": TicketStatus.OPEN, "priority": ticket.priority, **management_data(admin_client, url)},
        follow=True,
    )
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED


def test_calendar_without_open_time_is_rejected(admin_client):
    response = admin_client.post(
        reverse("admin:support_calendar_add"),
        {
            "name": "Empty",
            "timezone": "Asia/Shanghai",
            "weekly_hours-TOTAL_FORMS": 0,
            "weekly_hours-INITIAL_FORMS": 0,
            "days-TOTAL_FORMS": 0,
            "days-INITIAL_FORMS": 0,
            "coverage-TOTAL_FORMS": 0,
            "coverage-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert "at least one weekday" in response.content.decode()
    assert not Calendar.objects.filter(name="Empty").exists()


def test_calendar_with_hours_is_accepted(admin_client):
    response = admin_client.post(
        reverse("admin:support_calendar_add"),
        {
            "name": "Berlin",
            "timezone": "Europe/Berlin",
            "weekly_hours-TOTAL_FORMS": 1,
            "weekly_hours-INITIAL_FORMS": 0,
            "weekly_hours-0-weekday": 0,
            "weekly_hours-0-start_time": "09:00",
            "weekly_hours-0-end_time": "17:00",
            "days-TOTAL_FORMS": 0,
            "days-INITIAL_FORMS": 0,
            "coverage-TOTAL_FORMS": 0,
            "coverage-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Calendar.objects.get(name="Berlin").to_spec().has_open_time


def test_calendar_import_in_admin(admin_client):
    calendar = Calendar.objects.get(name="7x24")
    url = reverse("admin:support_calendar_import", args=[calendar.pk])
    assert admin_client.get(url).status_code == 200
    csv_file = SimpleUploadedFile(
        "2027.csv", "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-20,workday,调休\n".encode()
    )
    response = admin_client.post(url, {"file": csv_file, "replace": "on"})
    assert response.status_code == 302
    assert set(calendar.days.values_list("date", "kind")) == {
        (date(2027, 1, 1), "holiday"),
        (date(2027, 2, 20), "workday"),
    }


def test_seeded_china_calendar_and_import_command(tmp_path):
    calendar = Calendar.objects.get(name__startswith="5x8")
    # The 2026 list now comes from the chinesecalendar package; the rows that repeated it are gone.
    assert calendar.holiday_source == "cn"
    assert not calendar.days.filter(date__year=2026).exists()
    spec = calendar.to_spec()
    assert len([d for d in spec.holidays if d.year == 2026]) == 33
    assert {d for d in spec.workdays if d.year == 2026} == {
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    }
    path = tmp_path / "2027.json"
    path.write_text(json.dumps({"days": [{"date": "2027-10-01", "kind": "holiday", "name": "国庆节"}]}))
    call_command("import_calendar_days", calendar.name, str(path))
    assert CalendarDay.objects.filter(calendar=calendar, date=date(2027, 10, 1)).exists()
    assert calendar.coverage.filter(year=2027).exists()  # an imported year counts as complete
    assert calendar.to_spec().holidays >= spec.holidays  # other years untouched


def test_reports_page_is_linked_from_the_support_section(admin_client, member, standard_contract):
    open_ticket(member, standard_contract)
    index = admin_client.get(reverse("admin:app_list", args=["support"])).content.decode()
    reports_url = reverse("admin:support_supportreport_changelist")
    assert reports_url in index
    page = admin_client.get(reports_url)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="attainment"' in body and 'id="backlog"' in body and 'id="csat"' in body


def test_admin_lists_render(admin_client, member, enterprise_contract):
    open_ticket(member, enterprise_contract)
    for name in [
        "ticket",
        "calendar",
        "slapolicy",
        "kbarticle",
        "kbcategory",
        "hoursbucket",
        "timeentry",
        "slanotification",
    ]:
        assert admin_client.get(reverse(f"admin:support_{name}_changelist")).status_code == 200, name
    policy = enterprise_contract.edition.sla_policy
    assert admin_client.get(reverse("admin:support_slapolicy_change", args=[policy.pk])).status_code == 200
