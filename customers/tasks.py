"""Celery tasks of the customers app: take ids, re-fetch, idempotent."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone, translation

from customers.invitations import invitation_mail_compose
from customers.models import DealRegistration, Inquiry
from customers.partner_services import partner_invitation_mail_compose
from customers.services import community_signup_message
from portal.core.i18n import recipient_language

logger = logging.getLogger(__name__)


@shared_task(
    name="customers.tasks.inquiry_notify_sales", autoretry_for=(OSError,), retry_backoff=True, max_retries=5
)
def inquiry_notify_sales(inquiry_id: int) -> int:
    """Email SALES_NOTIFICATION_EMAILS about a new inquiry, once (the inquiry is claimed by setting
    notified_at before sending; a failed send releases it for the retry). Returns the recipients."""
    recipients = list(settings.SALES_NOTIFICATION_EMAILS or [])
    if not recipients:
        logger.info("inquiry %s: SALES_NOTIFICATION_EMAILS is empty, nobody notified", inquiry_id)
        return 0
    claimed = Inquiry.objects.filter(pk=inquiry_id, notified_at__isnull=True).update(
        notified_at=timezone.now()
    )
    if not claimed:
        return 0
    inquiry = Inquiry.objects.select_related("organization", "partner", "owner").get(pk=inquiry_id)
    try:
        with translation.override(recipient_language()):  # sales staff: the site's language
            context = {
                "inquiry": inquiry,
                "admin_url": f"{settings.SITE_URL}/admin/customers/inquiry/{inquiry.pk}/change/",
            }
            subject = render_to_string("customers/email/inquiry_notification_subject.txt", context)
            body = render_to_string("customers/email/inquiry_notification.txt", context)
        message = EmailMessage(
            subject=" ".join(subject.split()),
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=recipients,
            reply_to=[inquiry.contact_email] if inquiry.contact_email else None,
        )
        message.send()
    except Exception:
        Inquiry.objects.filter(pk=inquiry_id).update(notified_at=None)
        raise
    return len(recipients)


@shared_task(
    name="customers.tasks.invitation_mail", autoretry_for=(OSError,), retry_backoff=True, max_retries=5
)
def invitation_mail(invitation_id: int) -> int:
    """Compose the invitation (a fresh link) and send it; nothing when it was accepted or revoked."""
    message = invitation_mail_compose(invitation_id)
    return message.send() if message is not None else 0


@shared_task(
    name="customers.tasks.community_signup_notify",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def community_signup_notify(organization_id: int, email: str) -> int:
    """Tell SALES_NOTIFICATION_EMAILS that someone opened a community organization."""
    message = community_signup_message(organization_id, email)
    return message.send() if message is not None else 0


@shared_task(
    name="customers.tasks.partner_invitation_mail",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def partner_invitation_mail(invitation_id: int) -> int:
    """Compose the partner invitation (a fresh link) and send it; nothing when accepted or revoked."""
    message = partner_invitation_mail_compose(invitation_id)
    return message.send() if message is not None else 0


@shared_task(
    name="customers.tasks.deal_notify_sales", autoretry_for=(OSError,), retry_backoff=True, max_retries=5
)
def deal_notify_sales(deal_id: int) -> int:
    """Tell SALES_NOTIFICATION_EMAILS about a new deal registration and its conflicts."""
    recipients = list(settings.SALES_NOTIFICATION_EMAILS or [])
    deal = DealRegistration.objects.select_related("partner", "edition").filter(pk=deal_id).first()
    if not recipients or deal is None:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "deal": deal,
            "admin_url": f"{settings.SITE_URL}/admin/customers/dealregistration/{deal.pk}/change/",
        }
        subject = render_to_string("customers/email/deal_notification_subject.txt", context)
        body = render_to_string("customers/email/deal_notification.txt", context)
    EmailMessage(
        subject=" ".join(subject.split()), body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=recipients
    ).send()
    return len(recipients)
