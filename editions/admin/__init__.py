"""Back-office admin of the catalog app: catalog, releases and artifacts, downloads, registry credentials."""

from editions.admin import catalog, downloads, releases  # noqa: F401 -- registers the ModelAdmins
