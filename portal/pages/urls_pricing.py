"""The public pricing page and the self-service paths that start from it; the project mounts them with
path("pricing/", include("portal.pages.urls_pricing")) (namespace "pricing")."""

from django.urls import path

from portal.pages.views import pricing as views

app_name = "pricing"

urlpatterns = [
    path("", views.pricing, name="index"),
]
