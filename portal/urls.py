from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from portal import views
from portal.api import api

admin.site.site_header = "IoT Platform back office"
admin.site.site_title = "IoT Platform back office"

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("", views.home, name="home"),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
