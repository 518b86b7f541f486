"""The one place where periodic jobs are scheduled (times in Asia/Shanghai).

django-celery-beat copies these entries into its tables at beat start, so staff can see and pause
them in admin; the code here stays the source of truth.
"""

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict] = {
    "portal-heartbeat": {
        "task": "portal.tasks.heartbeat",
        "schedule": crontab(minute="*"),
    },
    "portal-jobs-sweep": {"task": "portal.core.tasks.jobs_sweep", "schedule": crontab(minute="*")},
    "licenses-expire-lapsed": {
        "task": "licenses.tasks.expire_lapsed_licenses",
        "schedule": crontab(hour=3, minute=20),
    },
    "contracts-daily-lifecycle": {
        "task": "contracts.tasks.daily_lifecycle",
        "schedule": crontab(hour=2, minute=0),
    },
    "editions-purge-watermarked": {
        "task": "editions.tasks.purge_watermarked_copies",
        "schedule": crontab(hour=4, minute=10),
    },
    "support-sla-check": {"task": "support.tasks.sla_check", "schedule": crontab(minute="*")},
    "support-inbound-mail": {"task": "support.tasks.inbound_mail_fetch", "schedule": crontab(minute="*")},
    "support-close-resolved": {
        "task": "support.tasks.close_resolved_tickets",
        "schedule": crontab(minute=17),
    },
    "support-hours-overage-invoices": {  # last month's custom-development overage, on the 1st
        "task": "support.tasks.hours_overage_invoice",
        "schedule": crontab(day_of_month=1, hour=3, minute=40),
    },
    "billing-quotes-expire": {"task": "billing.tasks.quotes_expire", "schedule": crontab(hour=1, minute=10)},
    "billing-renewal-quotes": {
        "task": "billing.tasks.renewal_quotes_offer",
        "schedule": crontab(hour=2, minute=50),
    },
    "billing-usage-invoices": {
        "task": "billing.tasks.usage_invoice_run",
        "schedule": crontab(hour=2, minute=30),
    },
    "billing-contract-invoices": {
        "task": "billing.tasks.contract_invoices_due",
        "schedule": crontab(hour=2, minute=50),
    },
    "billing-dunning": {"task": "billing.tasks.dunning_run", "schedule": crontab(hour=9, minute=15)},
    "billing-provider-payments-sync": {  # Alipay / WeChat Pay orders and refunds a notification missed
        "task": "billing.tasks.provider_payments_sync",
        "schedule": crontab(minute="*/5"),
    },
    "billing-stripe-events-retry": {
        "task": "billing.tasks.stripe_events_retry",
        "schedule": crontab(minute="*/15"),
    },
}
