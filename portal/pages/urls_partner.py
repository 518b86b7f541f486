"""The partner area's URLs (namespace "partner"). Object ids are looked up within the current partner:
another partner's id is a 404, and so is every page for a user who is not a partner user."""

from django.urls import path, register_converter

from portal.pages.views import partners


class StatementFormat:
    regex = "csv|xlsx|pdf"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(StatementFormat, "statement_format")

app_name = "partner"

urlpatterns = [
    path("", partners.overview, name="overview"),
    path("customers/", partners.customer_list, name="customers"),
    path("customers/<int:organization_id>/", partners.customer_detail, name="customer_detail"),
    path("contracts/<str:number>/renewal-quote/", partners.renewal_request, name="renewal_request"),
    path("deals/", partners.deal_list, name="deals"),
    path("deals/new/", partners.deal_new, name="deal_new"),
    path("deals/<int:deal_id>/", partners.deal_detail, name="deal_detail"),
    path("commissions/", partners.commissions, name="commissions"),
    path(
        "commissions/<int:year>-<int:month>.<statement_format:fmt>",
        partners.statement,
        name="statement",
    ),
    path("team/", partners.team, name="team"),
    path(
        "team/invitations/<int:invitation_id>/revoke/", partners.invitation_revoke, name="invitation_revoke"
    ),
    path("team/members/<int:membership_id>/remove/", partners.member_remove, name="member_remove"),
    path("invitations/<str:token>/", partners.invitation, name="invitation"),
    path("brand/<int:partner_id>/logo", partners.brand_logo, name="brand_logo"),
]
