"""The timeline rows of this app (LicenseEvent), written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from licenses.models import Deployment, License, LicenseEvent
from portal.core.actors import Actor, actor_user


def license_event_record(
    *,
    actor: Actor,
    deployment: Deployment | int,
    kind: str,
    license: License | None = None,
    reason: str = "",
    via: str = "",
    source_ip: str | None = None,
    data: dict[str, Any] | None = None,
) -> LicenseEvent:
    user = actor_user(actor)
    return LicenseEvent.objects.create(
        deployment_id=deployment if isinstance(deployment, int) else deployment.pk,
        license=license,
        kind=kind,
        reason=str(reason or "")[:30],
        actor=user,
        via=via or getattr(actor, "_audit_via", "") or ("admin" if user else "system"),
        source_ip=source_ip,
        data=data or {},
    )
