"""Public pages of the customers app; the project mounts them with
path("contact/", include("customers.urls"))."""

from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("", views.inquiry_form, name="inquiry"),
    path("thanks/", views.inquiry_thanks, name="inquiry_thanks"),
]
