"""Macros: bilingual canned responses with placeholders, a status change and tags, from the admin ticket page."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from portal.core.errors import ApplicationError
from portal.core.models import AuditEvent
from support import services
from support.models import EventKind, Macro, TicketStatus, TicketTag
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db


def management_data(client: Any, url: str) -> dict:
    data = {}
    for inline in client.get(url).context["inline_admin_formsets"]:
        form = inline.formset.management_form
        data.update({f"{form.prefix}-{name}": value for name, value in form.initial.items()})
    return data


@pytest.fixture
def macro(db: Any) -> Macro:
    macro = Macro.objects.create(
        name="Need logs",
        body_zh="您好 {{ requester_name }}，关于工单 {{ ticket_number }}（{{ organization }}），请上传网关日志。\n{{ agent_name }}",
        body_en="Hello {{requester_name}}, for {{ ticket_number }} ({{ organization }}) please send the gateway logs.\n{{ agent_name }}",
        set_status=TicketStatus.PENDING_CUSTOMER,
    )
    macro.add_tags.add(
        TicketTag.objects.create(name="logs-requested"), TicketTag.objects.create(name="gateway")
    )
    return macro


@pytest.fixture
def agent_named(agent: Any) -> Any:
    agent.first_name, agent.last_name = "Wei", "Zhang"
    agent.save()
    return agent


def test_a_macro_replies_in_the_tickets_language_sets_status_and_tags(
    macro, member, standard_contract, agent_named, django_capture_on_commit_callbacks
):
    ticket = open_ticket(member, standard_contract, language="zh-hans")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        message = services.macro_apply(actor=agent_named, ticket=ticket, macro=macro)

    organization = standard_contract.organization.name
    requester = member.get_full_name() or member.get_username()
    assert (
        message.body
        == f"您好 {requester}，关于工单 {ticket.number}（{organization}），请上传网关日志。\nWei Zhang"
    )
    assert not message.is_internal
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING_CUSTOMER
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["gateway", "logs-requested"]
    assert ticket.events.filter(kind=EventKind.MACRO, data__name="Need logs").exists()
    assert ticket.events.filter(kind=EventKind.TAGGED).exists()
    assert AuditEvent.objects.filter(action="ticket.macro").exists()
    assert [m.to for m in mail.outbox] == [[member.email]]  # the customer gets the reply


def test_an_english_ticket_gets_the_english_text_and_an_empty_language_falls_back(
    macro, member, standard_contract, agent_named
):
    ticket = open_ticket(member, standard_contract, language="en")
    message = services.macro_apply(actor=agent_named, ticket=ticket, macro=macro)
    assert message.body.startswith("Hello ") and f"for {ticket.number} (" in message.body

    only_chinese = Macro.objects.create(name="zh only", body_zh="收到，{{ ticket_number }} 处理中。")
    other = open_ticket(member, standard_contract, language="en")
    assert (
        services.macro_render(macro=only_chinese, ticket=other, agent=agent_named)
        == f"收到，{other.number} 处理中。"
    )


def test_unknown_placeholders_cannot_be_saved():
    macro = Macro(name="bad", body_en="Dear {{ customer.password }} {{ ticket_number }}")
    with pytest.raises(ValidationError) as error:
        macro.full_clean()
    assert "{{ customer.password }}" in str(error.value)
    with pytest.raises(ValidationError):
        Macro(name="empty").full_clean()


def test_an_internal_macro_is_a_note_and_mails_no_customer(
    member, standard_contract, agent, django_capture_on_commit_callbacks
):
    note = Macro.objects.create(name="Escalate", body_en="Escalated to R&D.", internal=True)
    ticket = open_ticket(member, standard_contract, language="en")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        message = services.macro_apply(actor=agent, ticket=ticket, macro=note)
    assert message.is_internal
    assert mail.outbox == []


def test_a_switched_off_macro_is_refused(member, standard_contract, agent, macro):
    macro.is_active = False
    macro.save()
    ticket = open_ticket(member, standard_contract)
    with pytest.raises(ApplicationError) as error:
        services.macro_apply(actor=agent, ticket=ticket, macro=macro)
    assert error.value.code == "macro_inactive"
    assert ticket.messages.count() == 1 and not ticket.tags.exists()


def test_applied_from_the_admin_ticket_page(admin_client, macro, member, standard_contract):
    ticket = open_ticket(member, standard_contract, language="en")
    url = reverse("admin:support_ticket_change", args=[ticket.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="macro"' in page and "Need logs" in page
    response = admin_client.post(
        url,
        {
            "status": ticket.status,
            "priority": ticket.priority,
            "assignee": "",
            "macro": macro.pk,
            **management_data(admin_client, url),
        },
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING_CUSTOMER
    assert ticket.messages.filter(from_customer=False, body__startswith="Hello ").exists()
    assert set(ticket.tags.values_list("name", flat=True)) == {"gateway", "logs-requested"}
    listing = admin_client.get(
        reverse("admin:support_ticket_changelist")
        + "?tags__id__exact="
        + str(TicketTag.objects.get(name="gateway").pk)
    )
    assert ticket.number in listing.content.decode()


def test_macros_are_staff_only(client, member, macro):
    client.force_login(member)
    response = client.get(reverse("admin:support_macro_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]
