"""The alert of a silent deployment (issue 18): licenses' fleet scan opens one SilenceEpisode per
silence and enqueues support.tasks.fleet_alerts_process; here each episode gets its one alert (a ticket
with the evidence for the editions in FLEET_TICKET_EDITIONS, requested in the account owner's name so
support mails it to them; a plain mail to the owner for the other paying editions), and the ticket is
resolved when the deployment checks in again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.models import Membership, Role
from licenses.models import SilenceEpisode
from portal.core.i18n import recipient_language
from portal.core.mail import mail_enqueue
from portal.core.services import audit
from support.models import DONE_STATUSES, Category, Channel, Priority, TicketStatus
from support.services.tickets import ticket_create, ticket_reply

ALERT_BATCH = 200


def _owner(organization_id: int) -> Any:
    membership = (
        Membership.objects.select_related("user")
        .filter(organization_id=organization_id, role=Role.OWNER, user__is_active=True)
        .order_by("pk")
        .first()
    )
    return membership.user if membership else None


def _evidence(episode: SilenceEpisode) -> dict[str, Any]:
    deployment = episode.deployment
    return {
        "deployment": deployment.hostname or deployment.machine_id,
        "machine_id": deployment.machine_id,
        "contract": deployment.contract.number,
        "last_checkin": timezone.localtime(episode.last_checkin_at).strftime("%Y-%m-%d %H:%M"),
        "version": episode.last_version or "–",
        "devices": "–" if episode.last_device_count is None else str(episode.last_device_count),
        "days": settings.FLEET_SILENT_DAYS,
    }


def _evidence_text(evidence: dict[str, Any]) -> str:
    return (
        _(
            "Deployment %(deployment)s (machine %(machine_id)s, contract %(contract)s) has not checked in for "
            "more than %(days)d days.\n\nLast check-in: %(last_checkin)s\nLast version: %(version)s\n"
            "Devices at the last check-in: %(devices)s"
        )
        % evidence
    )


@transaction.atomic
def silence_episode_alert(*, episode: SilenceEpisode) -> SilenceEpisode:
    """The one alert of a silence: for the ticket editions a support ticket with the evidence, requested
    in the account owner's name (support mails it to them); for the other paying editions a mail to the
    owner. Idempotent (the episode row is locked and marked)."""
    episode = (
        SilenceEpisode.objects.select_for_update(of=("self",))
        .select_related("deployment__contract__edition", "deployment__organization")
        .get(pk=episode.pk)
    )
    if episode.alerted_at is not None:
        return episode
    deployment = episode.deployment
    evidence = _evidence(episode)
    owner = _owner(deployment.organization_id)
    if deployment.contract.edition.code in settings.FLEET_TICKET_EDITIONS and owner is not None:
        with translation.override(recipient_language(user=owner)):
            episode.ticket = ticket_create(
                actor=None,
                organization=deployment.organization,
                requester=owner,
                subject=_("Deployment %(deployment)s stopped checking in") % evidence,
                body=_evidence_text(evidence),
                priority=Priority.P2,
                category=Category.INCIDENT,
                contract=deployment.contract,
                deployment_ref=str(deployment.pk),
                channel=Channel.ADMIN,
                language=recipient_language(user=owner),
            )
    # With a ticket, the owner's alert is the ticket's own mail (support's "ticket opened" notice, in
    # the thread they can answer); without one, a plain mail.
    if episode.ticket is None and owner is not None and owner.email:
        with translation.override(recipient_language(user=owner)):
            mail_enqueue(
                EmailMessage(
                    subject=_("Deployment %(deployment)s stopped checking in") % evidence,
                    body=_evidence_text(evidence)
                    + "\n\n"
                    + _("If the platform was shut down on purpose, you can ignore this message."),
                    to=[owner.email],
                )
            )
    episode.alerted_at = timezone.now()
    episode.save(update_fields=["alerted_at", "ticket"])
    audit(
        actor=None,
        action="deployment.silent",
        target=deployment,
        data={"episode": episode.pk, "ticket": episode.ticket.number if episode.ticket else None},
    )
    return episode


@transaction.atomic
def silence_episode_close(*, episode: SilenceEpisode) -> SilenceEpisode:
    """The deployment checked in again: its ticket is resolved with a note saying so."""
    episode = (
        SilenceEpisode.objects.select_for_update(of=("self",))
        .select_related("ticket", "deployment")
        .get(pk=episode.pk)
    )
    if episode.closed_at is not None or episode.ended_at is None:
        return episode
    ticket = episode.ticket
    if ticket is not None and ticket.status not in DONE_STATUSES:
        ticket_reply(
            actor=None,
            ticket=ticket,
            internal=True,
            body=_("The deployment checked in again at %(time)s; closed automatically.")
            % {"time": timezone.localtime(episode.ended_at).strftime("%Y-%m-%d %H:%M")},
            status=TicketStatus.RESOLVED,
        )
    episode.closed_at = timezone.now()
    episode.save(update_fields=["closed_at"])
    audit(
        actor=None, action="deployment.silence_end", target=episode.deployment, data={"episode": episode.pk}
    )
    return episode


def _each_in_batches(queryset: QuerySet[SilenceEpisode], handle: Callable[..., object], batch: int) -> int:
    """Call `handle` on every episode of `queryset`, `batch` at a time; an episode leaves the queryset
    once handled, so each batch is read afresh. Returns how many were handled."""
    handled = 0
    while True:
        episodes = list(queryset.order_by("pk")[:batch])
        for episode in episodes:
            handle(episode=episode)
        handled += len(episodes)
        if len(episodes) < batch:
            return handled


def silence_alerts_process(*, batch: int = ALERT_BATCH) -> tuple[int, int]:
    """Alert new episodes and close ended ones; returns (alerted, closed). Episodes alerted and ended in
    the same run (back before the alert went) are closed without an alert."""
    alerted = _each_in_batches(
        SilenceEpisode.objects.filter(alerted_at__isnull=True, ended_at__isnull=True),
        silence_episode_alert,
        batch,
    )
    SilenceEpisode.objects.filter(alerted_at__isnull=True, ended_at__isnull=False).update(
        alerted_at=timezone.now(), closed_at=timezone.now()
    )
    closed = _each_in_batches(
        SilenceEpisode.objects.filter(ended_at__isnull=False, closed_at__isnull=True),
        silence_episode_close,
        batch,
    )
    return alerted, closed
