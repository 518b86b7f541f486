"""Choices and the ticket state machine (data, checked in one place: services.tickets._transition)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Priority(models.TextChoices):
    P1 = "P1", _("P1 – critical")
    P2 = "P2", _("P2 – high")
    P3 = "P3", _("P3 – normal")
    P4 = "P4", _("P4 – low")


class Category(models.TextChoices):
    INCIDENT = "incident", _("incident")
    QUESTION = "question", _("question")
    CUSTOM_DEVELOPMENT = "custom_development", _("custom development")
    FEATURE_REQUEST = "feature_request", _("feature request")
    BILLING = "billing", _("billing")


class Channel(models.TextChoices):
    PORTAL = "portal", _("portal")
    EMAIL = "email", pgettext_lazy("channel", "e-mail")
    ADMIN = "admin", _("back office")


class TicketStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("ticket status", "new")
    OPEN = "open", pgettext_lazy("ticket status", "open")
    PENDING_CUSTOMER = "pending_customer", pgettext_lazy("ticket status", "waiting for customer")
    RESOLVED = "resolved", pgettext_lazy("ticket status", "resolved")
    CLOSED = "closed", pgettext_lazy("ticket status", "closed")


# DESIGN §6: new → open → pending_customer → open → resolved → closed; a resolved ticket may reopen.
TICKET_TRANSITIONS: dict[str, frozenset[str]] = {
    TicketStatus.NEW: frozenset({TicketStatus.OPEN, TicketStatus.PENDING_CUSTOMER, TicketStatus.RESOLVED}),
    TicketStatus.OPEN: frozenset({TicketStatus.PENDING_CUSTOMER, TicketStatus.RESOLVED}),
    TicketStatus.PENDING_CUSTOMER: frozenset({TicketStatus.OPEN, TicketStatus.RESOLVED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}
OPEN_STATUSES = frozenset({TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING_CUSTOMER})
PAUSE_STATUSES = frozenset({TicketStatus.PENDING_CUSTOMER})
DONE_STATUSES = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})


class SlaState(models.TextChoices):
    RUNNING = "running", _("running")
    PAUSED = "paused", _("paused")
    MET = "met", _("met")
    BREACHED = "breached", _("breached")
    NA = "n/a", _("n/a")


class SlaMetric(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("first response")
    NEXT_RESPONSE = "next_response", _("next response")
    RESOLUTION = "resolution", _("resolution")


class NotificationKind(models.TextChoices):
    WARNING = "warning", _("warning before breach")
    BREACH = "breach", _("breach escalation")


class EventKind(models.TextChoices):
    CREATED = "created", _("created")
    STATUS = "status", _("status changed")
    AGENT_REPLY = "agent_reply", _("agent replied")
    CUSTOMER_MESSAGE = "customer_message", _("customer wrote")
    INTERNAL_NOTE = "internal_note", _("internal note")
    PRIORITY = "priority", _("priority changed")
    ASSIGNED = "assigned", _("assigned")
    RATED = "rated", _("rated")
    TIME_LOGGED = "time_logged", _("time logged")
    MACRO = "macro", _("macro applied")
    TAGGED = "tagged", _("tags changed")
