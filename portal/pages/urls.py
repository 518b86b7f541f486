"""The customer portal's URLs (namespace "portal"). Object ids in URLs are always looked up within
the current organization: another organization's id is a 404."""

from django.urls import path

from portal.pages.views import dashboard, invitations, invoices, licensing, organization, quotes

app_name = "portal"

urlpatterns = [
    path("organizations/choose/", dashboard.organization_choose, name="choose_organization"),
    path("account/", dashboard.account, name="account"),
    path("language/", dashboard.set_language, name="set_language"),
    path("organization/", organization.organization, name="organization"),
    path("organization/invoicing/", organization.invoicing, name="invoicing"),
    path("organization/invitations/", organization.invite, name="invite"),
    path(
        "organization/invitations/<int:invitation_id>/revoke/",
        organization.invitation_revoke_view,
        name="invitation_revoke",
    ),
    path(
        "organization/invitations/<int:invitation_id>/resend/",
        organization.invitation_resend_view,
        name="invitation_resend",
    ),
    path("organization/members/<int:membership_id>/role/", organization.member_role, name="member_role"),
    path(
        "organization/members/<int:membership_id>/remove/", organization.member_remove, name="member_remove"
    ),
    path("invitations/<str:token>/", invitations.invitation, name="invitation"),
    path("contracts/", licensing.contract_list, name="contracts"),
    path("contracts/<str:number>/", licensing.contract_detail, name="contract_detail"),
    path("deployments/", licensing.deployment_list, name="deployments"),
    path("deployments/register/", licensing.deployment_register, name="deployment_register"),
    path("deployments/offline/", licensing.offline_activation, name="offline_activation"),
    path("deployments/<int:deployment_id>/", licensing.deployment_detail, name="deployment_detail"),
    path("deployments/<int:deployment_id>/license.key", licensing.deployment_key, name="deployment_key"),
    path("invoices/", invoices.invoice_list, name="invoices"),
    path("invoices/<int:invoice_id>/pdf/", invoices.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:invoice_id>/pay/", invoices.invoice_pay, name="invoice_pay"),
    path("quotes/<int:quote_id>/", quotes.quote_detail, name="quote_detail"),
    path("quotes/<int:quote_id>/pdf/", quotes.quote_pdf, name="quote_pdf"),
    path("quotes/<int:quote_id>/accept/", quotes.quote_accept_view, name="quote_accept"),
]
