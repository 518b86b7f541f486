"""The support desk in the back office: tickets, calendars and policies, knowledge base, hours, reports."""

from support.admin import calendars, economics, kb, mail, reports, tickets  # noqa: F401 - registers the ModelAdmins
