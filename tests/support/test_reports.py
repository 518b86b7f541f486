from __future__ import annotations

from datetime import date

import pytest
import time_machine

from support import selectors, services
from support.models import TicketStatus
from tests.support.conftest import sh
from tests.support.factories import open_ticket

pytestmark = pytest.mark.django_db


def test_attainment_backlog_and_csat(member, enterprise_contract, agent):
    with time_machine.travel(sh(2026, 3, 4, 10), tick=False):
        on_time = open_ticket(member, enterprise_contract, priority="P1")
        late = open_ticket(member, enterprise_contract, priority="P1")
        services.ticket_reply(actor=agent, ticket=on_time, body="hi")
    with time_machine.travel(sh(2026, 3, 4, 11), tick=False):
        services.ticket_reply(actor=agent, ticket=late, body="sorry", status=TicketStatus.RESOLVED)
        services.ticket_rate(actor=member, ticket=late, rating=2)
        rows = selectors.sla_attainment(start=date(2026, 3, 1), end=date(2026, 4, 1))
        backlog = selectors.backlog_by_age()
        csat = selectors.csat_summary(start=date(2026, 3, 1), end=date(2026, 4, 1))
    assert len(rows) == 1
    row = rows[0]
    assert (row["contract__edition__code"], row["priority"], row["tickets"]) == ("enterprise", "P1", 2)
    assert (row["first_response_met"], row["first_response_breached"], row["first_response_percent"]) == (
        1,
        1,
        50.0,
    )
    assert [(b["priority"], b["total"], b["ages"][0]) for b in backlog] == [("P1", 1, 1)]
    assert csat["count"] == 1 and csat["average"] == 2
