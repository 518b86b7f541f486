"""Celery tasks of the licenses app: take ids, re-fetch, call a service; idempotent."""

from __future__ import annotations

from celery import shared_task

from contracts.models import Contract
from licenses import services


@shared_task(name="licenses.tasks.expire_lapsed_licenses", ignore_result=True)
def expire_lapsed_licenses() -> int:
    """Nightly: mark licenses whose token passed `exp` as expired (see licenses_expire_lapsed)."""
    total = 0
    while True:
        count = services.licenses_expire_lapsed()
        total += count
        if count == 0:
            return total


@shared_task(name="licenses.tasks.expire_for_contract", ignore_result=True)
def expire_for_contract(contract_id: int) -> int:
    contract = Contract.objects.filter(pk=contract_id).first()
    if contract is None:
        return 0
    return services.licenses_expire_for_contract(actor=None, contract=contract)


@shared_task(
    name="licenses.tasks.offline_renewal_notify",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=60,
    max_retries=5,
)
def offline_renewal_notify(contract_id: int, deployment_ids: list[int]) -> list[str]:
    """Mail the new license files of air-gapped deployments after a renewal became active."""
    return services.offline_renewal_notify(contract_id=contract_id, deployment_ids=deployment_ids)
