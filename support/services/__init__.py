"""Writes of the support app (one module per area; import from here)."""

from support.services.calendars import (
    calendar_changed,
    calendar_coverage_add,
    calendar_days_import,
    calendar_validate,
    parse_calendar_days,
    sla_policy_changed,
)
from support.services.fleet_alerts import silence_alerts_process, silence_episode_alert, silence_episode_close
from support.services.hours import contract_year, hours_bucket_for, hours_overage_invoice, time_entry_add
from support.services.inbound import (
    inbound_mail_discard,
    inbound_mail_process,
    inbound_mail_refuse_oversized,
    inbound_mail_triage,
)
from support.services.kb import kb_articles_publish, kb_articles_unpublish
from support.services.macros import macro_apply, macro_render, ticket_tags_add
from support.services.sla import (
    sla_check_due,
    sla_policy_for_contract,
    sla_recompute_dirty,
    ticket_sla_recompute,
    tickets_sla_recompute,
)
from support.services.tickets import (
    ticket_assign,
    ticket_change_priority,
    ticket_create,
    ticket_customer_reply,
    ticket_rate,
    ticket_reply,
    ticket_transition,
)

__all__ = [
    "calendar_changed",
    "calendar_coverage_add",
    "calendar_days_import",
    "calendar_validate",
    "contract_year",
    "hours_bucket_for",
    "hours_overage_invoice",
    "inbound_mail_discard",
    "inbound_mail_process",
    "inbound_mail_refuse_oversized",
    "inbound_mail_triage",
    "kb_articles_publish",
    "kb_articles_unpublish",
    "macro_apply",
    "macro_render",
    "parse_calendar_days",
    "silence_alerts_process",
    "silence_episode_alert",
    "silence_episode_close",
    "sla_check_due",
    "sla_policy_changed",
    "sla_policy_for_contract",
    "sla_recompute_dirty",
    "ticket_assign",
    "ticket_change_priority",
    "ticket_create",
    "ticket_customer_reply",
    "ticket_rate",
    "ticket_reply",
    "ticket_sla_recompute",
    "ticket_tags_add",
    "ticket_transition",
    "tickets_sla_recompute",
    "time_entry_add",
]
