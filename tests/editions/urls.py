"""The project's URLs plus the downloads pages at /downloads/, for tests that run before (or whether or
not) the project mounts them."""

from django.urls import include, path

from portal.urls import urlpatterns as project_urlpatterns


def _mounted(patterns: list) -> bool:
    return any(getattr(p, "namespace", None) == "downloads" for p in patterns)


urlpatterns = list(project_urlpatterns)
if not _mounted(urlpatterns):
    urlpatterns.append(path("downloads/", include("editions.urls")))
