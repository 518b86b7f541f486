from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from portal.api import api
from portal.pages import views

# A database outage answers 503 (JSON under /api/, a page elsewhere) instead of 500: portal.core.outage.
handler500 = "portal.core.outage.server_error"

# Staff sign in through allauth like everyone else, so the admin gets two-factor authentication too.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]  # allauth's login

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("support/", include("portal.pages.urls_support")),
    path("downloads/", include("portal.pages.urls_downloads")),
    path("contact/", include("portal.pages.urls_contact")),
    path("partner/", include("portal.pages.urls_partner")),
    path("pricing/", include("portal.pages.urls_pricing")),
    path("", include("portal.pages.urls")),
    path("", views.home, name="home"),
]
