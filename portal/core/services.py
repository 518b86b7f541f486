"""Shared write helpers: audit rows, after-commit side effects, gapless sequences, API tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from portal.core.actors import Actor, actor_user
from portal.core.jobs import enqueue_on_commit, relay
from portal.core.models import ApiToken, AuditEvent, Job, JobState, SequenceCounter

__all__ = [
    "Actor",
    "api_token_authenticate",
    "api_token_create",
    "api_token_revoke",
    "audit",
    "enqueue_on_commit",
    "jobs_retry",
    "on_commit",
    "sequence_next",
]


def audit(
    *, actor: Actor, action: str, target: models.Model, data: dict[str, Any] | None = None, via: str = ""
) -> AuditEvent:
    """Write the audit row for a change; call inside the service's transaction."""
    user = actor_user(actor)
    return AuditEvent.objects.create(
        actor=user,
        via=via or getattr(actor, "_audit_via", "") or ("admin" if user else "system"),
        action=action,
        target_type=ContentType.objects.get_for_model(target, for_concrete_model=False),
        target_id=str(target.pk),
        target_repr=str(target)[:200],
        data=data or {},
    )


def on_commit(func: Callable[[], Any]) -> None:
    transaction.on_commit(func)


def sequence_next(*, series: str, year: int, count: int = 1) -> int:
    """Next gapless number of (series, year). Must run inside the caller's transaction. With `count`,
    the first of that many consecutive numbers, for a transaction that issues that many documents:
    all of them must be used before commit, or none (rollback)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("sequence_next() must be called inside a transaction")
    if count < 1:
        raise ValueError("count must be at least 1")
    for _attempt in range(3):
        counter = SequenceCounter.objects.select_for_update().filter(series=series, year=year).first()
        if counter is not None:
            first = counter.last_value + 1
            counter.last_value += count
            counter.save(update_fields=["last_value"])
            return first
        try:
            with transaction.atomic():
                SequenceCounter.objects.create(series=series, year=year, last_value=0)
        except IntegrityError:
            pass  # another transaction created it first; lock it on the next pass
    raise RuntimeError(f"could not allocate a number in series {series}-{year}")


@transaction.atomic
def api_token_create(
    *, user: Any, name: str, write: bool = False, actor: Actor = None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is shown this once and never stored."""
    secret = ApiToken.new_secret()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        scope="write" if write else "read",
        token_prefix=secret[:10],
        token_hash=ApiToken.hash_secret(secret),
    )
    audit(actor=actor, action="api_token.create", target=token, data={"scope": token.scope})
    return token, secret


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: Actor = None) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit(actor=actor, action="api_token.revoke", target=token)
    return token


def api_token_authenticate(secret: str) -> ApiToken | None:
    """The active token for this secret, with its user; records use at most once a minute."""
    if not secret.startswith(ApiToken.PREFIX) or len(secret) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=ApiToken.hash_secret(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def jobs_retry(*, jobs: Iterable[Job], actor: Actor = None) -> int:
    """Staff's retry of failed jobs (admin): sent again now, with a fresh count of failures."""
    ids = [job.pk for job in jobs if job.state == JobState.FAILED]
    with transaction.atomic():
        for job in Job.objects.filter(pk__in=ids):
            audit(
                actor=actor, action="job.retry", target=job, data={"task": job.task, "failures": job.failures}
            )
        Job.objects.filter(pk__in=ids, state=JobState.FAILED).update(
            state=JobState.PENDING, failures=0, run_after=timezone.now()
        )
        transaction.on_commit(lambda: relay(ids))
    return len(ids)
