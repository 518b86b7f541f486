"""What the platform does over HTTP (DESIGN §5): activate a deployment, check in.

The check-in is the hot path (every deployment, daily, plus restarts): it verifies the signature
with a cached key object, reads the license with its deployment and contract in one query, and
writes one usage report and one deployment update. Tokens are re-signed only when something
changed or `renew_after` has passed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    OperationalError,
    connections,
    transaction,
)
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.entitlements import Window, contract_in_force, contract_window, end_of_grace
from contracts.models import Contract, ContractStatus
from licenses import ratelimit, tokens
from licenses.errors import LicenseError, license_error
from licenses.events import license_event_record
from licenses.models import (
    Deployment,
    Environment,
    License,
    LicenseEventKind,
    LicenseReason,
    LicenseState,
    UsageReport,
)
from licenses.services.activation import activation_code_claim
from licenses.services.licensing import (
    entitlement_cached,
    entitlement_memo_by_number,
    license_expire,
    license_issue,
    license_matches,
    license_revoke,
)
from portal.core.services import audit

EXPIRING_SOON_DAYS = 30
VIA = "platform"


class CheckinStatus:
    VALID = "valid"
    RENEWED = "renewed"
    GRACE = "grace"
    OVER_LIMIT = "over_limit"


@dataclass(frozen=True, slots=True)
class CurrentToken:
    """What an unchanged check-in answers with: the stored token and its times. Building a License
    model instance for this costs more than the rest of the fast path together."""

    pk: int
    token: str
    deployment_id: int
    contract_id: int
    expires_at: dt.datetime
    renew_after: dt.datetime


@dataclass
class PlatformAnswer:
    license: License | CurrentToken
    status: str = CheckinStatus.VALID
    messages: list[dict[str, Any]] = field(default_factory=list)
    created: bool = False
    deployment: Deployment | None = None


# --- activation ------------------------------------------------------------------------------------


@transaction.atomic
def deployment_activate(
    *,
    code: str,
    machine_id: str,
    hostname: str = "",
    platform_version: str = "",
    environment: str | None = None,
    source_ip: str | None = None,
    now: dt.datetime | None = None,
) -> PlatformAnswer:
    """Bind a deployment to the contract behind an activation code and issue its first license.

    Idempotent per (code, machine): a repeat returns the same deployment and its current token.
    The code's row is locked for the duration (activation_code_claim), so concurrent activations
    cannot exceed the allowance."""
    now = now or timezone.now()
    claim = activation_code_claim(plain=code, machine_id=machine_id, now=now)
    activation_code, contract, window, existing = claim.code, claim.contract, claim.window, claim.deployment
    if existing is not None:
        if window == Window.OVER:
            raise license_error(LicenseError.CONTRACT_INACTIVE)
        license = License.objects.filter(deployment=existing, state=LicenseState.ACTIVE).first()
        if license is None:
            latest = License.objects.filter(deployment=existing).order_by("-pk").first()
            if latest is not None and latest.state == LicenseState.REVOKED:
                raise license_error(LicenseError.LICENSE_REVOKED)
            license = license_issue(
                actor=None, deployment=existing, reason=LicenseReason.ACTIVATION, via=VIA, now=now
            )
        else:
            if license.contract_id != contract.pk:
                reason: str | None = LicenseReason.CONTRACT_RENEWED
            elif not license_matches(license, contract, entitlement_cached(contract)):
                reason = LicenseReason.ENTITLEMENT_CHANGED
            else:
                reason = LicenseReason.REFRESH if now >= license.expires_at else None
            if reason is not None:
                license = license_issue(
                    actor=None, deployment=existing, reason=reason, replacing=license, via=VIA, now=now
                )
        return PlatformAnswer(license=license, created=False, deployment=existing)

    if not environment:
        environment = Environment.SAAS if contract.edition.is_metered else Environment.PRODUCTION
    deployment = Deployment.objects.create(
        organization_id=contract.organization_id,
        contract=contract,
        activation_code=activation_code,
        machine_id=machine_id,
        hostname=hostname,
        environment=environment,
        platform_version=platform_version,
        created_at=now,
    )
    license_event_record(
        actor=None,
        deployment=deployment,
        kind=LicenseEventKind.DEPLOYMENT_ACTIVATED,
        via=VIA,
        source_ip=source_ip,
        data={
            "activation_code": activation_code.pk,
            "hostname": hostname,
            "platform_version": platform_version,
        },
    )
    audit(
        actor=None,
        action="deployment.activate",
        target=deployment,
        data={"contract": contract.number, "activation_code": activation_code.pk, "source_ip": source_ip},
        via=VIA,
    )
    license = license_issue(
        actor=None,
        deployment=deployment,
        reason=LicenseReason.ACTIVATION,
        contract=contract,
        via=VIA,
        now=now,
    )
    return PlatformAnswer(license=license, created=True, deployment=deployment)


# --- check-in --------------------------------------------------------------------------------------


def _reject(
    code: LicenseError, *, license: License, source_ip: str | None, data: dict[str, Any] | None = None
) -> Exception:
    """Record a refused check-in (clones and revoked installs are what sales wants to see), then
    return the error to raise. Written in its own transaction so the refusal is kept."""
    with transaction.atomic():
        license_event_record(
            actor=None,
            deployment=license.deployment_id,
            license=license,
            kind=LicenseEventKind.CHECKIN_REJECTED,
            reason=code.value,
            via=VIA,
            source_ip=source_ip,
            data=data or {},
        )
    return license_error(code)


def _messages(
    *,
    end_date: dt.date,
    grace_days: int,
    window: str,
    now: dt.datetime,
    over_limit: bool,
    device_limit: int | None,
    renewed: bool,
) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if window == Window.GRACE:
        grace_end = end_of_grace(end_date, grace_days)
        messages.append(
            {
                "code": "grace_period",
                "detail": _("The contract has ended; the license works until %(date)s. Renew to keep it.")
                % {"date": grace_end.date().isoformat()},
                "ends_at": grace_end.isoformat(),
            }
        )
    else:
        days_left = (end_date - now.astimezone(timezone.get_default_timezone()).date()).days
        if 0 <= days_left <= EXPIRING_SOON_DAYS:
            messages.append(
                {
                    "code": "expiring_soon",
                    "detail": _("The contract ends on %(date)s (%(days)d days left).")
                    % {"date": end_date.isoformat(), "days": days_left},
                    "ends_on": end_date.isoformat(),
                }
            )
    if over_limit:
        messages.append(
            {
                "code": "device_limit_exceeded",
                "detail": _("More devices are connected than the license allows (%(limit)d).")
                % {"limit": device_limit},
                "device_limit": device_limit,
            }
        )
    if renewed:
        messages.append({"code": "license_renewed", "detail": _("A new license is attached; store it.")})
    return messages


def _locked_license_query() -> Any:
    return License.objects.select_related(
        "deployment", "contract__edition", "contract__organization", "contract__renewal"
    )


def license_checkin(
    *,
    token: str,
    machine_id: str,
    device_count: int | None = None,
    platform_version: str | None = None,
    source_ip: str | None = None,
    now: dt.datetime | None = None,
) -> PlatformAnswer:
    now = now or timezone.now()
    claims, _key = tokens.verify(token)
    ratelimit.check(f"dep:{claims['sub']}", settings.LICENSE_RATE_LIMIT_DEPLOYMENT)
    fast = _checkin_unchanged(
        token=token,
        claims=claims,
        machine_id=machine_id,
        device_count=device_count,
        platform_version=platform_version,
        source_ip=source_ip,
        now=now,
    )
    if fast is not None:
        return fast

    license = _locked_license_query().filter(pk=int(claims["jti"])).first()
    if license is None or license.token != token or str(license.deployment_id) != claims["sub"]:
        # A genuine signature on a token this server has no record of: a key leak or a restore of
        # an old database. Either way it grants nothing.
        raise license_error(LicenseError.TOKEN_INVALID)
    deployment = license.deployment
    if machine_id != claims["machine_id"] or machine_id != deployment.machine_id:
        raise _reject(
            LicenseError.MACHINE_MISMATCH,
            license=license,
            source_ip=source_ip,
            data={"machine_id": machine_id[:128]},
        )
    if deployment.deactivated_at is not None or license.state == LicenseState.REVOKED:
        raise _reject(LicenseError.LICENSE_REVOKED, license=license, source_ip=source_ip)

    presented_superseded = False
    if license.state != LicenseState.ACTIVE:
        newest = _locked_license_query().filter(deployment=deployment).order_by("-pk").first()
        if newest is not None and newest.pk != license.pk:
            # Lost-response recovery: the caller never stored its newer token; hand it the current one.
            if newest.state == LicenseState.REVOKED:
                raise _reject(LicenseError.LICENSE_REVOKED, license=license, source_ip=source_ip)
            presented_superseded = True
            license = newest

    contract = contract_in_force(license.contract)
    window = contract_window(contract, now)
    if window == Window.OVER:
        if contract.status == ContractStatus.CANCELLED:
            license_revoke(
                actor=None,
                license=license,
                reason=contract.cancel_reason,
                state_reason=LicenseReason.CONTRACT_CANCELLED,
                via=VIA,
            )
            raise _reject(LicenseError.LICENSE_REVOKED, license=license, source_ip=source_ip)
        license_expire(actor=None, license=license, reason=LicenseReason.CONTRACT_ENDED, via=VIA, now=now)
        raise _reject(LicenseError.GRACE_EXPIRED, license=license, source_ip=source_ip)

    entitlement = entitlement_cached(contract)
    reason: str | None = None
    if contract.pk != license.contract_id:
        reason = LicenseReason.CONTRACT_RENEWED
    elif not license_matches(license, contract, entitlement):
        reason = LicenseReason.ENTITLEMENT_CHANGED
    elif now >= license.renew_after or license.state != LicenseState.ACTIVE:
        reason = LicenseReason.REFRESH

    device_limit = entitlement.device_limit
    over_limit = device_count is not None and device_limit is not None and device_count > device_limit
    with transaction.atomic():
        if reason is not None:
            license = license_issue(
                actor=None,
                deployment=deployment,
                reason=reason,
                contract=contract,
                replacing=license,
                via=VIA,
                now=now,
            )
        renewed = presented_superseded or reason in {
            LicenseReason.CONTRACT_RENEWED,
            LicenseReason.ENTITLEMENT_CHANGED,
        }
        if renewed:
            status = CheckinStatus.RENEWED
        elif window == Window.GRACE:
            status = CheckinStatus.GRACE
        elif over_limit:
            status = CheckinStatus.OVER_LIMIT
        else:
            status = CheckinStatus.VALID
        _record_usage(
            deployment=deployment,
            license=license,
            contract_id=license.contract_id,
            device_count=device_count,
            platform_version=platform_version,
            source_ip=source_ip,
            status=status,
            now=now,
        )
    messages = _messages(
        end_date=entitlement.entitlement_end,
        grace_days=entitlement.grace_days,
        window=window,
        now=now,
        over_limit=over_limit,
        device_limit=device_limit,
        renewed=renewed,
    )
    return PlatformAnswer(license=license, status=status, messages=messages, deployment=deployment)


def _record_usage(
    *,
    deployment: Deployment,
    license: License,
    contract_id: int,
    device_count: int | None,
    platform_version: str | None,
    source_ip: str | None,
    status: str,
    now: dt.datetime,
) -> None:
    UsageReport.objects.create(
        deployment_id=deployment.pk,
        contract_id=contract_id,
        license_id=license.pk,
        reported_at=now,
        device_count=device_count,
        platform_version=platform_version or "",
        source_ip=source_ip,
        status=status,
    )
    changes: dict[str, Any] = {
        "last_checkin_at": now,
        "last_checkin_ip": source_ip,
        "first_checkin_at": Coalesce(F("first_checkin_at"), Value(now)),
    }
    if platform_version:
        changes["platform_version"] = platform_version
    if device_count is not None:
        changes["last_device_count"] = device_count
        changes["peak_device_count"] = Greatest(F("peak_device_count"), Value(device_count))
        changes["peak_device_count_at"] = Case(
            When(peak_device_count__lt=device_count, then=Value(now)), default=F("peak_device_count_at")
        )
    Deployment.objects.filter(pk=deployment.pk).update(**changes)


# --- the fast path: nothing changed -----------------------------------------------------------------
#
# Almost every check-in presents the deployment's current token, within its contract, before
# renew_after, with nothing changed. On PostgreSQL that case is answered with a single statement: it
# reads the license with its deployment, contract and any renewal, checks every condition of "nothing
# to do" (the contract's `updated_at` must not have moved since this process computed its
# entitlement), and only then updates the deployment and appends the usage report, returning what the
# answer needs. That the license still states that entitlement is checked before, on the token's
# claims: the statement requires the stored token to be the presented one, and a license's token and
# entitlement columns are written together once, at issue. No row back means "not the simple case":
# nothing was written and the full path above decides. So the fast path only ever answers valid, grace or
# over_limit with the same token, exactly as the full path would.

_FAST_SQL: str | None = None
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _fast_sql() -> str:
    global _FAST_SQL
    if _FAST_SQL is None:
        lic, dep = License._meta.db_table, Deployment._meta.db_table
        con, rep = Contract._meta.db_table, UsageReport._meta.db_table
        # With LICENSE_CHECKIN_ASYNC_COMMIT the statement's own transaction commits without waiting
        # for the WAL flush (synchronous_commit is transaction-local here, nothing else is affected).
        # The row is committed and visible at once; only a crash of the database server itself can
        # lose the last fraction of a second of check-ins, never corrupt them.
        async_commit = (
            "set_config('synchronous_commit', 'off', true) AS async_commit,"
            if settings.LICENSE_CHECKIN_ASYNC_COMMIT
            else ""
        )
        _FAST_SQL = f"""
WITH ok AS (
    SELECT l.id AS license_id, l.deployment_id, l.contract_id, l.expires_at, l.renew_after,
           l.device_limit, {async_commit}
           CASE WHEN c.status <> 'active' OR %(now)s::timestamptz >= %(term_end)s::timestamptz THEN 'grace'
                WHEN %(devices)s::integer > l.device_limit THEN 'over_limit'
                ELSE 'valid' END AS status
    FROM {lic} l
    JOIN {dep} d ON d.id = l.deployment_id
    JOIN {con} c ON c.id = l.contract_id
    LEFT JOIN {con} r ON r.renewal_of_id = c.id
    WHERE l.id = %(license)s::bigint AND l.token = %(token)s::text AND l.state = 'active'
      AND d.machine_id = %(machine)s::text AND d.deactivated_at IS NULL
      AND l.renew_after > %(now)s::timestamptz
      AND c.id = %(contract)s::bigint AND c.updated_at IS NOT DISTINCT FROM %(updated_at)s::timestamptz
      AND c.status IN ('active', 'expired') AND %(now)s::timestamptz < %(grace_end)s::timestamptz
      AND (r.id IS NULL OR r.status <> 'active' OR r.start_date > %(today)s::date)
), touched AS (
    UPDATE {dep} SET
        last_checkin_at = %(now)s::timestamptz,
        last_checkin_ip = %(ip)s::inet,
        first_checkin_at = COALESCE(first_checkin_at, %(now)s::timestamptz),
        platform_version = COALESCE(NULLIF(%(version)s::text, ''), platform_version),
        last_device_count = COALESCE(%(devices)s::integer, last_device_count),
        peak_device_count_at = CASE WHEN %(devices)s::integer > peak_device_count THEN %(now)s::timestamptz
                                    ELSE peak_device_count_at END,
        peak_device_count = GREATEST(peak_device_count, COALESCE(%(devices)s::integer, 0))
    FROM ok WHERE {dep}.id = ok.deployment_id
), reported AS (
    INSERT INTO {rep} (deployment_id, contract_id, license_id, reported_at, device_count,
                       platform_version, source_ip, status)
    SELECT deployment_id, contract_id, license_id, %(now)s::timestamptz, %(devices)s::integer,
           %(version)s::text, %(ip)s::inet,
           status FROM ok
)
SELECT (extract(epoch FROM expires_at) * 1000000)::bigint,
       (extract(epoch FROM renew_after) * 1000000)::bigint,
       status FROM ok
"""  # noqa: S608 - table names from _meta, values bound as parameters
    return _FAST_SQL


_PREPARED_CURSOR_CLASS: Any = None
_IDLE_HEALTH_CHECK_SECONDS = 2.0


def _prepared_cursor(connection: Any) -> Any:
    """A cursor whose statements are bound and prepared server-side (psycopg 3), wrapped like every
    Django cursor (query logging, execute wrappers). The check-in statement is then parsed and
    planned once per database connection instead of once per request. Django leaves prepared
    statements off for the ORM (for transaction-pooling proxies); LICENSE_CHECKIN_PREPARED=0
    turns them off here too, for PgBouncer in transaction mode before 1.21."""
    global _PREPARED_CURSOR_CLASS
    if _PREPARED_CURSOR_CLASS is None:
        from django.db.backends.postgresql import base as pg

        server_binding = getattr(pg, "ServerBindingCursor", None)
        if server_binding is None:  # psycopg 2
            _PREPARED_CURSOR_CLASS = False
        else:

            class PreparedCursor(server_binding):  # type: ignore[misc, valid-type]
                def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
                    # Django opens connections with prepare_threshold=None, which makes psycopg
                    # ignore prepare=True; lift it for this statement only (the prepared statement
                    # stays cached on the connection for the next check-in).
                    kwargs.setdefault("prepare", True)
                    raw = self.connection
                    previous = raw.prepare_threshold
                    raw.prepare_threshold = 0
                    try:
                        return super().execute(query, params, **kwargs)
                    finally:
                        raw.prepare_threshold = previous

            _PREPARED_CURSOR_CLASS = PreparedCursor
    if not _PREPARED_CURSOR_CLASS or not settings.LICENSE_CHECKIN_PREPARED:
        return connection.cursor()
    # This cursor skips Django's health check of a reused connection (a SELECT 1 round trip per
    # request), which under load only ever finds a live connection. A connection idle for a while
    # is checked as Django would (it may have died with a database restart), so that an idle
    # worker does not answer its first check-in after an outage with a 503.
    now = time.monotonic()
    if now - getattr(connection, "_checkin_used_at", now) > _IDLE_HEALTH_CHECK_SECONDS:
        connection.close_if_health_check_failed()
    connection._checkin_used_at = now
    connection.ensure_connection()
    return connection._prepare_cursor(_PREPARED_CURSOR_CLASS(connection.connection))


def _checkin_unchanged(
    *,
    token: str,
    claims: dict[str, Any],
    machine_id: str,
    device_count: int | None,
    platform_version: str | None,
    source_ip: str | None,
    now: dt.datetime,
) -> PlatformAnswer | None:
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return None  # the demo's SQLite takes the full path
    contract_number = claims.get("contract")
    memo = entitlement_memo_by_number(contract_number) if isinstance(contract_number, str) else None
    if memo is None:
        return None  # first check-in for this contract in this process: the full path fills the memo
    if not memo.stated_by(claims):
        return None  # modules, limits or term changed: the full path renews
    entitlement = memo.entitlement
    params = {
        **memo.checkin_params,
        "license": int(claims["jti"]),
        "token": token,
        "machine": machine_id,
        "now": now,
        "today": now.astimezone(timezone.get_default_timezone()).date(),
        "devices": device_count,
        "version": platform_version or "",
        "ip": source_ip,
    }
    try:
        with _prepared_cursor(connection) as cursor:
            cursor.execute(_fast_sql(), params)
            row = cursor.fetchone()
    except (InterfaceError, OperationalError):
        # Never run the check-in a second time: the statement may have committed before the
        # connection broke. The error answers 503 (portal.core.outage) and the platform retries; the
        # broken connection is dropped so that the next request connects afresh.
        if not connection.in_atomic_block:
            with contextlib.suppress(DatabaseError):
                connection.close()
        raise
    if row is None:
        return None
    expires_us, renew_after_us, status = row  # microseconds since the epoch: cheaper to read than timestamptz
    device_limit = entitlement.device_limit
    over_limit = device_count is not None and device_limit is not None and device_count > device_limit
    # The statement matched the stored token to the presented one, whose claims name the deployment,
    # and the license to the memo's contract: only the times and the status need to come back.
    license = CurrentToken(
        pk=params["license"],
        token=token,
        deployment_id=int(claims["sub"]),
        contract_id=memo.contract_id,
        expires_at=_EPOCH + dt.timedelta(microseconds=expires_us),
        renew_after=_EPOCH + dt.timedelta(microseconds=renew_after_us),
    )
    messages = _messages(
        end_date=entitlement.entitlement_end,
        grace_days=entitlement.grace_days,
        window=Window.GRACE if status == CheckinStatus.GRACE else Window.TERM,
        now=now,
        over_limit=over_limit,
        device_limit=device_limit,
        renewed=False,
    )
    return PlatformAnswer(license=license, status=status, messages=messages)
