"""Public pages of the customers app; the project mounts them with
path("contact/", include("portal.pages.urls_contact"))."""

from django.urls import path

from portal.pages.views import contact as views

app_name = "customers"

urlpatterns = [
    path("", views.inquiry_form, name="inquiry"),
    path("thanks/", views.inquiry_thanks, name="inquiry_thanks"),
]
