"""The project's URLs plus the public inquiry form at /contact/ (until portal/urls.py mounts it)."""

from django.urls import URLResolver, include, path

from portal.urls import urlpatterns as project_urlpatterns

_mounted = any(isinstance(p, URLResolver) and p.namespace == "customers" for p in project_urlpatterns)

urlpatterns = list(project_urlpatterns)
if not _mounted:
    urlpatterns.insert(0, path("contact/", include("customers.urls")))
