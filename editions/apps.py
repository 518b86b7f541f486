from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EditionsConfig(AppConfig):
    name = "editions"
    verbose_name = _("Catalog")

    def ready(self) -> None:
        # At ready(): the system checks register themselves; the check-ins' release index forgets
        # a release that changed.
        from django.db.models.signals import post_delete, post_save

        from editions import checks  # noqa: F401 -- registers the system checks
        from editions.models import Release  # models load before ready()
        from editions.selectors import release_index_clear  # imports models: only after they load

        post_save.connect(release_index_clear, sender=Release, dispatch_uid="release_index_clear_save")
        post_delete.connect(release_index_clear, sender=Release, dispatch_uid="release_index_clear_delete")
