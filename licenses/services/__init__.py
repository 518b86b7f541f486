"""Writes of the licenses app. Import from here; the submodules are an implementation detail."""

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
    current_contract,
    deployment_deactivate,
    deployment_register,
    entitlement_of,
    license_expire,
    license_issue,
    license_key_downloaded,
    license_reissue,
    license_revoke,
    licenses_expire_for_contract,
    licenses_expire_lapsed,
    licenses_reissue_for_contract,
)
from licenses.services.platform import CheckinStatus, PlatformAnswer, deployment_activate, license_checkin

__all__ = [
    "CheckinStatus",
    "PlatformAnswer",
    "activation_code_create",
    "activation_code_reveal",
    "activation_code_revoke",
    "activation_code_update",
    "current_contract",
    "default_max_deployments",
    "deployment_activate",
    "deployment_deactivate",
    "deployment_register",
    "entitlement_of",
    "license_checkin",
    "license_expire",
    "license_issue",
    "license_key_downloaded",
    "license_reissue",
    "license_revoke",
    "licenses_expire_for_contract",
    "licenses_expire_lapsed",
    "licenses_reissue_for_contract",
    "normalize_code",
    "signing_key_create",
    "signing_key_for_issuing",
    "signing_key_rotate",
    "signing_keys_reencrypt",
]
