"""Portal URLs of the support desk; the project mounts them with
path("support/", include("portal.pages.urls_support"))."""

from django.urls import path

from portal.pages.views import support as views

app_name = "support"

urlpatterns = [
    path("", views.ticket_list, name="ticket_list"),
    path("new/", views.ticket_new, name="ticket_new"),
    path("suggest/", views.suggest, name="suggest"),
    path("kb/", views.kb_search, name="kb_search"),
    path("kb/<slug:slug>/", views.kb_article, name="kb_article"),
    path("<str:number>/", views.ticket_detail, name="ticket_detail"),
    path("<str:number>/reply/", views.ticket_reply, name="ticket_reply"),
    path("<str:number>/rate/", views.ticket_rate, name="ticket_rate"),
    path("<str:number>/attachments/<int:pk>/", views.attachment, name="attachment"),
]
