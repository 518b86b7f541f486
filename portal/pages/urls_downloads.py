"""Portal pages for downloads and registry credentials; the project mounts them with
path("downloads/", include("portal.pages.urls_downloads")) (namespace "downloads")."""

from django.urls import path

from portal.pages.views import downloads as views

app_name = "downloads"

urlpatterns = [
    path("", views.index, name="index"),
    path("artifacts/<int:pk>/", views.artifact_detail, name="artifact"),
    path("get/<str:token>/", views.fetch, name="fetch"),
    path("nda/", views.nda, name="nda"),
    path("registry/", views.registry_credentials, name="registry"),
    path("registry/<int:pk>/revoke/", views.registry_credential_revoke, name="registry_revoke"),
]
