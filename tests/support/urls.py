"""The project's URLs with the support pages mounted at /support/ (as the lead will mount them)."""

from django.urls import include, path

from portal.urls import urlpatterns as project_urlpatterns

_mounted = any(getattr(p, "namespace", None) == "support" for p in project_urlpatterns)
urlpatterns = list(project_urlpatterns)
if not _mounted:
    urlpatterns.insert(0, path("support/", include("support.urls")))
