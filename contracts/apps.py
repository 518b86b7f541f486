from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = _("Contracts")

    def ready(self) -> None:
        # Imported once the app registry is ready: both modules import models.
        from contracts.entitlements import organization_entitlement
        from editions.selectors import entitlement_source_set

        # Downloads and the registry deliver what the contracts in force grant. The catalog (editions)
        # sits below contracts and never imports them, so the rule is plugged in from here.
        entitlement_source_set(organization_entitlement)
