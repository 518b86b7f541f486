"""What each organization role may do in the portal, as data.

Every portal view names the permission it needs (`portal.pages.views.common.portal_view`); a member whose
role lacks it gets a 404, so a page's existence is not revealed to those who may not use it. Changing
who may do what is an edit of PERMISSION_ROLES, nothing else.
"""

from __future__ import annotations

from enum import StrEnum

from customers.models import PartnerRole, Role


class Perm(StrEnum):
    VIEW_DASHBOARD = "view_dashboard"
    VIEW_CONTRACTS = "view_contracts"
    VIEW_DEPLOYMENTS = "view_deployments"
    VIEW_ACTIVATION_CODES = "view_activation_codes"
    DOWNLOAD_KEYS = "download_keys"
    REGISTER_DEPLOYMENTS = "register_deployments"
    MANAGE_DEPLOYMENTS = "manage_deployments"  # deactivate a deployment, move it to a new machine
    VIEW_INVOICES = "view_invoices"
    PAY_INVOICES = "pay_invoices"
    ACCEPT_QUOTES = "accept_quotes"  # see quotes (prices) and accept them: a renewal, an upgrade
    EDIT_INVOICING_DATA = "edit_invoicing_data"
    VIEW_MEMBERS = "view_members"
    MANAGE_MEMBERS = "manage_members"
    VIEW_TICKETS = "view_tickets"
    DOWNLOAD_SOFTWARE = "download_software"  # entitled artifacts, source code (NDA), registry credentials
    PURCHASE = "purchase"  # start trials, buy, upgrade, start SaaS from /pricing/


ALL_ROLES = frozenset(Role)
TECHNICAL_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.TECHNICAL})
BILLING_ROLES = frozenset({Role.OWNER, Role.BILLING})

PERMISSION_ROLES: dict[Perm, frozenset[Role]] = {
    Perm.VIEW_DASHBOARD: ALL_ROLES,
    Perm.VIEW_CONTRACTS: ALL_ROLES,
    Perm.VIEW_MEMBERS: ALL_ROLES,
    Perm.VIEW_TICKETS: ALL_ROLES,
    Perm.VIEW_DEPLOYMENTS: TECHNICAL_ROLES,
    Perm.DOWNLOAD_SOFTWARE: TECHNICAL_ROLES,
    Perm.VIEW_ACTIVATION_CODES: TECHNICAL_ROLES,
    Perm.DOWNLOAD_KEYS: TECHNICAL_ROLES,
    Perm.REGISTER_DEPLOYMENTS: TECHNICAL_ROLES,
    Perm.MANAGE_DEPLOYMENTS: frozenset({Role.OWNER, Role.TECHNICAL}),
    Perm.VIEW_INVOICES: BILLING_ROLES,
    Perm.PAY_INVOICES: BILLING_ROLES,
    Perm.ACCEPT_QUOTES: BILLING_ROLES,
    Perm.EDIT_INVOICING_DATA: BILLING_ROLES,
    Perm.MANAGE_MEMBERS: frozenset({Role.OWNER, Role.ADMIN}),
    Perm.PURCHASE: frozenset({Role.OWNER, Role.ADMIN}),
}

# Which roles a member may hand out (invite with, change to). Only owners make or unmake owners.
ASSIGNABLE_ROLES: dict[Role, tuple[Role, ...]] = {
    Role.OWNER: (Role.OWNER, Role.ADMIN, Role.BILLING, Role.TECHNICAL),
    Role.ADMIN: (Role.ADMIN, Role.BILLING, Role.TECHNICAL),
}

# Main navigation entries (settings.PORTAL_NAV URL names) and the permission each needs.
NAV_PERMISSIONS: dict[str, Perm] = {
    "portal:deployments": Perm.VIEW_DEPLOYMENTS,
    "downloads:index": Perm.DOWNLOAD_SOFTWARE,
    "portal:invoices": Perm.VIEW_INVOICES,
    "support:ticket_list": Perm.VIEW_TICKETS,
    "portal:organization": Perm.VIEW_MEMBERS,
}


def role_can(role: str, perm: Perm | str) -> bool:
    return role in PERMISSION_ROLES[Perm(perm)]


def permissions_of(role: str) -> frozenset[str]:
    """The permission names a role has, for templates (`{% if 'view_invoices' in perms_portal %}`)."""
    return frozenset(str(p) for p, roles in PERMISSION_ROLES.items() if role in roles)


def assignable_roles(role: str) -> tuple[Role, ...]:
    return ASSIGNABLE_ROLES.get(Role(role), ())


def can_manage_member(actor_role: str, target_role: str) -> bool:
    """May a member with `actor_role` change or remove a member who holds `target_role`?"""
    return target_role in assignable_roles(actor_role)


# --- the partner area (portal/pages/views/partners.py, `partner_view`) -----------------------------------


class PartnerPerm(StrEnum):
    VIEW_BOOK = "view_book"  # own end customers, their contracts, renewal dates, deployments, licenses
    REQUEST_RENEWAL = "request_renewal"
    REGISTER_DEALS = "register_deals"
    VIEW_COMMISSIONS = "view_commissions"  # ledger, monthly statements, payouts
    MANAGE_PARTNER_USERS = "manage_partner_users"


ALL_PARTNER_ROLES = frozenset(PartnerRole)

PARTNER_PERMISSION_ROLES: dict[PartnerPerm, frozenset[PartnerRole]] = {
    PartnerPerm.VIEW_BOOK: ALL_PARTNER_ROLES,
    PartnerPerm.REQUEST_RENEWAL: ALL_PARTNER_ROLES,
    PartnerPerm.REGISTER_DEALS: ALL_PARTNER_ROLES,
    PartnerPerm.VIEW_COMMISSIONS: frozenset({PartnerRole.ADMIN}),
    PartnerPerm.MANAGE_PARTNER_USERS: frozenset({PartnerRole.ADMIN}),
}


def partner_role_can(role: str, perm: PartnerPerm | str) -> bool:
    return role in PARTNER_PERMISSION_ROLES[PartnerPerm(perm)]


def partner_permissions_of(role: str) -> frozenset[str]:
    return frozenset(str(p) for p, roles in PARTNER_PERMISSION_ROLES.items() if role in roles)
