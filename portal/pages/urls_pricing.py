"""The public pricing page and the self-service paths that start from it; the project mounts them with
path("pricing/", include("portal.pages.urls_pricing")) (namespace "pricing")."""

from django.urls import path

from portal.pages.views import pricing as views

app_name = "pricing"

urlpatterns = [
    path("", views.pricing, name="index"),
    path("trial/<slug:code>/", views.trial_start, name="trial_start"),
    path("trials/<int:trial_id>/convert/", views.trial_convert, name="trial_convert"),
    path("buy/<slug:code>/", views.buy, name="buy"),
    path("saas/", views.saas_start, name="saas_start"),
    path("quotes/<str:number>/", views.quote, name="quote"),
    path("upgrade/<str:number>/", views.upgrade, name="upgrade"),
    path("modules/<str:number>/", views.module_add, name="module_add"),
]
