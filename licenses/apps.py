from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from contracts.signals import contract_activated, contract_ended


class LicensesConfig(AppConfig):
    name = "licenses"
    verbose_name = _("Licenses")

    def ready(self) -> None:
        # Imported once the app registry is ready, as receivers are (the services import models).
        from licenses.services.licensing import licenses_follow_contract
        from licenses.services.offline import offline_renewal_offer

        # Licenses follow their contract (grace, expiry, revocation) when the contracts lifecycle
        # reports it ended; contracts never import licenses.
        contract_ended.connect(licenses_follow_contract, dispatch_uid="licenses.follow_contract")
        # An activated renewal: air-gapped deployments cannot check in, so they are offered the new
        # license file (portal and mail).
        contract_activated.connect(offline_renewal_offer, dispatch_uid="licenses.offline_renewal_offer")
