"""Writes of the licenses app. Import from here; the submodules are an implementation detail."""

from licenses.services.activation import (
    CodeClaim,
    activation_code_claim,
    deployment_register_with_code,
    license_fresh,
)
from licenses.services.codes import (
    activation_code_create,
    activation_code_reveal,
    activation_code_revoke,
    activation_code_update,
    default_max_deployments,
    normalize_code,
)
from licenses.services.keys import (
    signing_key_create,
    signing_key_for_issuing,
    signing_key_rotate,
    signing_keys_reencrypt,
)
from licenses.services.licensing import (
    deployment_deactivate,
    deployment_register,
    license_expire,
    license_issue,
    license_key_downloaded,
    license_reissue,
    license_revoke,
    licenses_expire_for_contract,
    licenses_expire_lapsed,
    licenses_reissue_for_contract,
)
from licenses.services.offline import (
    OfflineRequest,
    offline_activation_fulfil,
    offline_deployments_renewed,
    offline_renewal_notify,
    offline_renewal_offer,
)
from licenses.services.platform import CheckinStatus, PlatformAnswer, deployment_activate, license_checkin

__all__ = [
    "CheckinStatus",
    "CodeClaim",
    "OfflineRequest",
    "PlatformAnswer",
    "activation_code_claim",
    "activation_code_create",
    "activation_code_reveal",
    "activation_code_revoke",
    "activation_code_update",
    "default_max_deployments",
    "deployment_activate",
    "deployment_deactivate",
    "deployment_register",
    "deployment_register_with_code",
    "license_checkin",
    "license_expire",
    "license_fresh",
    "license_issue",
    "license_key_downloaded",
    "license_reissue",
    "license_revoke",
    "licenses_expire_for_contract",
    "licenses_expire_lapsed",
    "licenses_reissue_for_contract",
    "normalize_code",
    "offline_activation_fulfil",
    "offline_deployments_renewed",
    "offline_renewal_notify",
    "offline_renewal_offer",
    "signing_key_create",
    "signing_key_for_issuing",
    "signing_key_rotate",
    "signing_keys_reencrypt",
]
