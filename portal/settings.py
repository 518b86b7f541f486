"""Settings, from environment variables only (see README "Configuration").

Development and the demo run with DEBUG=1 and need nothing else; with DEBUG off, SECRET_KEY and
LICENSE_KEY_ENCRYPTION_KEY are mandatory and the app refuses to start without them.
"""

from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from django.utils.translation import gettext_lazy as _

# Generic Django classes (ModelAdmin[Model], QuerySet[Model]…) subscriptable at runtime, for the types.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-secret-key-not-for-production-use-0123456789")
else:
    SECRET_KEY = env("SECRET_KEY")  # no default: fail loudly

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default=f"http://127.0.0.1:{env('PORT', default='8000')}").rstrip("/")

INSTALLED_APPS = [
    "portal.backoffice.BackOfficeAdminConfig",  # django.contrib.admin with the back office's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "django_celery_beat",
    "portal.core",
    "customers",
    "editions",
    "contracts",
    "licenses",
    "billing",
    "support",
    "portal.pages",
    "portal.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "licenses.fastpath.CheckinFastPathMiddleware",  # machine-to-machine check-ins skip the rest
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "portal.pages.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # SQLite for the demo: wait for the writer lock instead of failing under the worker's writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# Internationalisation: Simplified Chinese first, English complete too.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
# Project templates share the portal app's catalog, so `manage.py makemessages` at the root routes every
# string to its app's own locale/ and the templates/ strings to portal/locale/.
LOCALE_PATHS = [BASE_DIR / "portal" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Accounts (django-allauth): customers log in by email; staff use the same login for admin.
SITE_ID = 1
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = env("EMAIL_SUBJECT_PREFIX", default="[IoT Platform] ")
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", default="IoT Platform")
USERSESSIONS_TRACK_ACTIVITY = True

# The portal's main navigation: (URL name, label); entries whose URL is not installed are skipped.
PORTAL_NAV = [
    ("home", _("Overview")),
    ("portal:deployments", _("Deployments")),
    ("downloads:index", _("Downloads")),
    ("portal:invoices", _("Invoices")),
    ("support:ticket_list", _("Support")),
    ("portal:organization", _("Organization")),
    ("mfa_index", _("Security")),
]

# Mail: console in development; SMTP when EMAIL_URL is set.
if env("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="IoT Platform <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SALES_NOTIFICATION_EMAILS = env.list("SALES_NOTIFICATION_EMAILS", default=[])

# Celery: Redis in production and CI; an embedded filesystem broker for the demo (no server needed,
# shared by the web, worker and beat processes on the same machine).
VAR_DIR.mkdir(exist_ok=True)
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery-queue"
    (_queue_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
else:
    # Publishing fails fast when the broker is down (one retry after 0.2 s instead of kombu's 6 s of
    # retries): background work waits in the outbox (portal/core/jobs.py) rather than in the request.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2}
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Licenses: private signing keys are encrypted at rest with this key (Fernet, urlsafe base64 of 32
# bytes). Mandatory outside development; rotate by re-encrypting (`manage.py license_keys`).
if DEBUG:
    LICENSE_KEY_ENCRYPTION_KEY = env(
        "LICENSE_KEY_ENCRYPTION_KEY", default="ZGV2LW9ubHktbGljZW5zZS1rZXktZW5jcnlwdGlvbi0="
    )
else:
    LICENSE_KEY_ENCRYPTION_KEY = env("LICENSE_KEY_ENCRYPTION_KEY")
LICENSE_ISSUER = env("LICENSE_ISSUER", default="iot-platform-backoffice")
LICENSE_GRACE_DAYS = env.int("LICENSE_GRACE_DAYS", default=14)

# Stripe switches on when its secret key is set.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")

# Security: production values unless DEBUG is on.
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health$"]
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Billing (billing/): the seller printed on every invoice, payment terms, dunning, usage billing, exports.
# Demo values in DEBUG only; in production an empty SELLER_NAME/SELLER_TAXPAYER_ID stops invoices from
# being issued (billing raises seller_not_configured) rather than printing placeholder data.
_demo = DEBUG
SELLER_NAME = env("SELLER_NAME", default="示例物联网科技（上海）有限公司" if _demo else "")
SELLER_NAME_EN = env("SELLER_NAME_EN", default="Example IoT Technology (Shanghai) Co., Ltd." if _demo else "")
SELLER_TAXPAYER_ID = env("SELLER_TAXPAYER_ID", default="91310115MA1K4LXX3E" if _demo else "")
SELLER_ADDRESS = env("SELLER_ADDRESS", default="上海市浦东新区张江路 100 号" if _demo else "")
SELLER_PHONE = env("SELLER_PHONE", default="021-5000 0000" if _demo else "")
SELLER_EMAIL = env("SELLER_EMAIL", default="finance@example.com" if _demo else "")
SELLER_BANK = env("SELLER_BANK", default="招商银行上海张江支行" if _demo else "")
SELLER_ACCOUNT = env("SELLER_ACCOUNT", default="1219 0000 0000 0000" if _demo else "")
SELLER_SWIFT = env("SELLER_SWIFT", default="CMBCCNBS" if _demo else "")
BILLING_PAYMENT_TERMS_DAYS = env.int("BILLING_PAYMENT_TERMS_DAYS", default=30)
BILLING_DUNNING_DAYS = sorted(env.list("BILLING_DUNNING_DAYS", cast=int, default=[7, 14, 30]))
BILLING_FINANCE_EMAILS = env.list("BILLING_FINANCE_EMAILS", default=SALES_NOTIFICATION_EMAILS)
# Reference rates to CNY used when finance has not entered an exchange rate for the issue date.
BILLING_DEFAULT_RATES_TO_CNY = env.dict(
    "BILLING_DEFAULT_RATES_TO_CNY", default={"USD": "7.10"} if _demo else {}
)
BILLING_CUSTOM_DEV_HOURLY_RATE = {
    "CNY": env("BILLING_CUSTOM_DEV_HOURLY_RATE_CNY", default="1500.00"),
    "USD": env("BILLING_CUSTOM_DEV_HOURLY_RATE_USD", default="220.00"),
}
BILLING_INVOICE_ADVANCE_DAYS = env.int("BILLING_INVOICE_ADVANCE_DAYS", default=30)
BILLING_CONTRACT_AUTO_ISSUE = env.bool("BILLING_CONTRACT_AUTO_ISSUE", default=False)
BILLING_USAGE_AUTO_ISSUE = env.bool("BILLING_USAGE_AUTO_ISSUE", default=True)
BILLING_SEND_ON_ISSUE = env.bool("BILLING_SEND_ON_ISSUE", default=True)
BILLING_EXPORT_SYNC_MAX_ROWS = env.int("BILLING_EXPORT_SYNC_MAX_ROWS", default=20000)
BILLING_STALE_REPORT_DAYS = env.int("BILLING_STALE_REPORT_DAYS", default=2)
# Override default VAT rates per tax category, e.g. BILLING_TAX_RATES=software_license=0.13,services=0.06
BILLING_TAX_RATES = env.dict("BILLING_TAX_RATES", default={})

# Licenses, platform API (licenses/): rate limits "N/s|m|h|d" (empty or "off" disables) per source
# address and per deployment, counted in the default cache: production must set CACHE_URL to a
# shared cache (Redis) or each process counts alone. Behind N reverse proxies set
# LICENSE_TRUSTED_PROXY_COUNT=N so the client address is read from X-Forwarded-For.
LICENSE_RATE_LIMIT_ADDRESS = env("LICENSE_RATE_LIMIT_ADDRESS", default="120/m")
LICENSE_RATE_LIMIT_ACTIVATE = env("LICENSE_RATE_LIMIT_ACTIVATE", default="10/m")
LICENSE_RATE_LIMIT_DEPLOYMENT = env("LICENSE_RATE_LIMIT_DEPLOYMENT", default="30/h")
LICENSE_PLATFORM_MAX_BODY = env.int("LICENSE_PLATFORM_MAX_BODY", default=16 * 1024)
LICENSE_TRUSTED_PROXY_COUNT = env.int("LICENSE_TRUSTED_PROXY_COUNT", default=0)
# An unchanged check-in (the daily case) commits its usage row without waiting for the WAL flush:
# a database-server crash may lose the last < 1 s of such rows (measured: 1-9 per crash under 300
# check-ins/s, 0 with it off; licenses/README.md); the platform reports again at its next check-in.
LICENSE_CHECKIN_ASYNC_COMMIT = env.bool("LICENSE_CHECKIN_ASYNC_COMMIT", default=True)
LICENSE_CHECKIN_PREPARED = env.bool("LICENSE_CHECKIN_PREPARED", default=True)  # off behind PgBouncer <1.21
# Check-ins answered right after SecurityMiddleware instead of through the whole stack (licenses/fastpath.py).
LICENSE_CHECKIN_FAST_PATH = env.bool("LICENSE_CHECKIN_FAST_PATH", default=True)

# Support desk (support/): attachment limits, SLA escalation, the community forum link.
SUPPORT_ATTACHMENT_MAX_BYTES = env.int("SUPPORT_ATTACHMENT_MAX_BYTES", default=20 * 1024 * 1024)
SUPPORT_ATTACHMENT_MAX_FILES = env.int("SUPPORT_ATTACHMENT_MAX_FILES", default=10)
SUPPORT_ESCALATION_GROUP = env("SUPPORT_ESCALATION_GROUP", default="Support leads")
SUPPORT_ESCALATION_EMAILS = env.list("SUPPORT_ESCALATION_EMAILS", default=[])
SUPPORT_COMMUNITY_FORUM_URL = env("SUPPORT_COMMUNITY_FORUM_URL", default="https://forum.example.com/")
SUPPORT_AUTO_CLOSE_DAYS = env.int("SUPPORT_AUTO_CLOSE_DAYS", default=7)

# Downloads and the private image registry (editions/). Files come from STORAGES["downloads"] when that
# alias is configured (object storage), else from the default storage (MEDIA_ROOT). With
# DOWNLOADS_SERVE_MODE=accel (nginx: an internal location at DOWNLOADS_ACCEL_PREFIX mapped to the storage)
# or =sendfile (Apache/lighttpd, filesystem storage) the web server sends the bytes; unset, the app
# streams them itself with HTTP Range support. The registry token server switches on when
# REGISTRY_TOKEN_KEY_FILE (a PEM RSA private key) is set; in DEBUG a key is generated into var/.
DOWNLOADS_SERVE_MODE = env("DOWNLOADS_SERVE_MODE", default="")
DOWNLOADS_ACCEL_PREFIX = env("DOWNLOADS_ACCEL_PREFIX", default="/protected-downloads/")
DOWNLOADS_LINK_MAX_AGE = env.int("DOWNLOADS_LINK_MAX_AGE", default=15 * 60)
DOWNLOADS_WATERMARK_RETENTION_HOURS = env.int("DOWNLOADS_WATERMARK_RETENTION_HOURS", default=48)
REGISTRY_TOKEN_KEY_FILE = env(
    "REGISTRY_TOKEN_KEY_FILE", default=str(VAR_DIR / "registry-token-key.pem") if DEBUG else ""
)
REGISTRY_SERVICE = env("REGISTRY_SERVICE", default="registry.example.com")
REGISTRY_ISSUER = env("REGISTRY_ISSUER", default="iot-platform-backoffice")
REGISTRY_HOST = env("REGISTRY_HOST", default=REGISTRY_SERVICE)  # shown in docker pull / helm pull commands
REGISTRY_TOKEN_TTL = env.int("REGISTRY_TOKEN_TTL", default=300)
REGISTRY_PUSH_USERS = env.list("REGISTRY_PUSH_USERS", default=[])  # service-account usernames that may push

# Customer portal (portal/views, portal/accounts.py): sign-up form, MFA rule, the user's language,
# page sizes, where Stripe sends the payer back. Owners of organizations with an active contract of
# these editions must use an authenticator app before any portal page.
ACCOUNT_FORMS = {"signup": "portal.pages.forms.PortalSignupForm"}
MFA_ADAPTER = "portal.pages.accounts.MFAAdapter"
PORTAL_STAFF_MFA_REQUIRED = env.bool("PORTAL_STAFF_MFA_REQUIRED", default=not DEBUG)  # TOTP for admin users
PORTAL_MFA_REQUIRED_EDITIONS = env.list("PORTAL_MFA_REQUIRED_EDITIONS", default=["enterprise", "source"])
PORTAL_MFA_EXEMPT_PATHS = ["/accounts/", "/static/", "/media/", "/i18n/", "/api/", "/language/"]
MIDDLEWARE += [
    "portal.pages.middleware.UserLanguageMiddleware",
    "portal.pages.middleware.RequireMFAMiddleware",
]
PORTAL_PAGE_SIZE = env.int("PORTAL_PAGE_SIZE", default=25)
PORTAL_SALES_EMAIL = env("PORTAL_SALES_EMAIL", default="sales@example.com")
BILLING_PAYMENT_RETURN_URL = env("BILLING_PAYMENT_RETURN_URL", default=f"{SITE_URL}/invoices/")

# Contract lifecycle and renewal reminders (contracts/): reminder days before the end (plus one when the
# grace period ends), how many days a missed run catches up, mail retries (seconds, doubled per retry),
# auto-renewal drafts N days before the end with an optional price uplift, the admin "renewals due" window.
CONTRACT_REMINDER_DAYS = sorted(
    env.list("CONTRACT_REMINDER_DAYS", cast=int, default=[90, 60, 30, 7, 0]), reverse=True
)
CONTRACT_REMINDER_GRACE_END = env.bool("CONTRACT_REMINDER_GRACE_END", default=True)
CONTRACT_REMINDER_CATCH_UP_DAYS = env.int("CONTRACT_REMINDER_CATCH_UP_DAYS", default=3)
CONTRACT_REMINDER_MAX_RETRIES = env.int("CONTRACT_REMINDER_MAX_RETRIES", default=6)
CONTRACT_REMINDER_RETRY_BACKOFF = env.int("CONTRACT_REMINDER_RETRY_BACKOFF", default=60)
CONTRACT_REMINDER_SEND_BATCH_SIZE = env.int("CONTRACT_REMINDER_SEND_BATCH_SIZE", default=50)
CONTRACT_LIFECYCLE_BATCH_SIZE = env.int("CONTRACT_LIFECYCLE_BATCH_SIZE", default=500)
CONTRACT_AUTO_RENEW_DAYS = env.int("CONTRACT_AUTO_RENEW_DAYS", default=60)
CONTRACT_AUTO_RENEW_UPLIFT_PERCENT = env("CONTRACT_AUTO_RENEW_UPLIFT_PERCENT", default="0")
CONTRACT_RENEWALS_DUE_DAYS = env.int("CONTRACT_RENEWALS_DUE_DAYS", default=90)
LOGGING["loggers"]["weasyprint"] = {"level": "WARNING"}  # it logs every rendering step at INFO
LOGGING["loggers"]["fontTools"] = {"level": "WARNING"}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu warns "No hostname was supplied" on every connection to the demo's filesystem broker,
    # which has no host to supply.
    LOGGING["loggers"]["kombu.connection"] = {"level": "ERROR"}

# Customers (customers/): the public inquiry form at /contact/ is limited per client address ("N/s|m|h|d";
# empty or "off" disables), counted in the default cache (set CACHE_URL to Redis in production so all
# processes share the count). Behind N reverse proxies set INQUIRY_TRUSTED_PROXY_COUNT=N. New inquiries
# are mailed to SALES_NOTIFICATION_EMAILS.
INQUIRY_RATE_LIMIT = env("INQUIRY_RATE_LIMIT", default="10/h")
INQUIRY_TRUSTED_PROXY_COUNT = env.int("INQUIRY_TRUSTED_PROXY_COUNT", default=0)
# allauth's session activity tracking, throttled (see portal.pages.middleware.UserSessionsMiddleware).
PORTAL_SESSION_ACTIVITY_SECONDS = env.int("PORTAL_SESSION_ACTIVITY_SECONDS", default=300)
MIDDLEWARE = [
    "portal.pages.middleware.UserSessionsMiddleware"
    if m == "allauth.usersessions.middleware.UserSessionsMiddleware"
    else m
    for m in MIDDLEWARE
]

# Background jobs (portal/core/jobs.py): the transactional outbox. A job queued but not started after
# JOB_QUEUED_TIMEOUT_SECONDS, or running for JOB_RUNNING_TIMEOUT_SECONDS, is sent again (its second run
# is skipped if the first one finished); a failed job is retried after JOB_RETRY_BASE_SECONDS, doubling
# up to JOB_RETRY_MAX_SECONDS, until JOB_MAX_FAILURES; finished jobs are kept JOB_RETENTION_DAYS.
JOB_QUEUED_TIMEOUT_SECONDS = env.int("JOB_QUEUED_TIMEOUT_SECONDS", default=15 * 60)
JOB_RUNNING_TIMEOUT_SECONDS = env.int("JOB_RUNNING_TIMEOUT_SECONDS", default=30 * 60)
JOB_RETRY_BASE_SECONDS = env.int("JOB_RETRY_BASE_SECONDS", default=5 * 60)
JOB_RETRY_MAX_SECONDS = env.int("JOB_RETRY_MAX_SECONDS", default=6 * 3600)
JOB_MAX_FAILURES = env.int("JOB_MAX_FAILURES", default=10)
JOB_RELAY_GRACE_SECONDS = env.int("JOB_RELAY_GRACE_SECONDS", default=10)
# After a failed send, requests leave their jobs to the sweep for this long instead of trying again.
JOB_RELAY_PAUSE_SECONDS = env.int("JOB_RELAY_PAUSE_SECONDS", default=30)
JOB_RETENTION_DAYS = env.int("JOB_RETENTION_DAYS", default=14)

# Support by mail, calendars (support/): the beat job reads new mail from SUPPORT_IMAP_URL
# (imap[s]://user:password@host:port/FOLDER; empty: off), marks it seen and, when
# SUPPORT_IMAP_PROCESSED_FOLDER is set, moves it there. Providers that post mail use
# POST /api/v1/support/inbound-mail with the raw RFC 822 message and the header X-Inbound-Mail-Secret
# equal to SUPPORT_INBOUND_MAIL_SECRET (empty: the endpoint is off). Larger messages are refused with a
# reply. SUPPORT_MAIL_ADDRESS is the address customers write to: the Reply-To of ticket mail; mail from
# it (or DEFAULT_FROM_EMAIL, SUPPORT_MAIL_OWN_ADDRESSES) is a loop and never opens a ticket. Staff are
# warned when a calendar in use lacks holiday data within SUPPORT_CALENDAR_HORIZON_DAYS.
SUPPORT_MAIL_ADDRESS = env("SUPPORT_MAIL_ADDRESS", default="")
SUPPORT_MAIL_OWN_ADDRESSES = env.list("SUPPORT_MAIL_OWN_ADDRESSES", default=[])
SUPPORT_IMAP_URL = env("SUPPORT_IMAP_URL", default="")
SUPPORT_IMAP_PROCESSED_FOLDER = env("SUPPORT_IMAP_PROCESSED_FOLDER", default="")
SUPPORT_IMAP_BATCH = env.int("SUPPORT_IMAP_BATCH", default=50)
SUPPORT_INBOUND_MAIL_SECRET = env("SUPPORT_INBOUND_MAIL_SECRET", default="")
SUPPORT_INBOUND_MAIL_MAX_BYTES = env.int("SUPPORT_INBOUND_MAIL_MAX_BYTES", default=40 * 1024 * 1024)
SUPPORT_CALENDAR_HORIZON_DAYS = env.int("SUPPORT_CALENDAR_HORIZON_DAYS", default=60)
# China payment rails and e-invoices (billing/payments/, billing/statements.py, billing/fapiao.py).
# Each rail is offered on the pay page once its settings are set. Alipay (支付宝开放平台, RSA2 keys as PEM
# files): ALIPAY_SANDBOX=1 uses the sandbox gateway. WeChat Pay API v3 (微信支付公钥模式): the merchant's
# API private key and certificate serial sign requests; the WeChat Pay public key and its id
# (PUB_KEY_ID_…) verify answers and notifications; the APIv3 key (32 characters) decrypts them.
ALIPAY_APP_ID = env("ALIPAY_APP_ID", default="")
ALIPAY_APP_PRIVATE_KEY_FILE = env("ALIPAY_APP_PRIVATE_KEY_FILE", default="")
ALIPAY_PUBLIC_KEY_FILE = env("ALIPAY_PUBLIC_KEY_FILE", default="")
ALIPAY_SANDBOX = env.bool("ALIPAY_SANDBOX", default=False)
WECHATPAY_MCHID = env("WECHATPAY_MCHID", default="")
WECHATPAY_APPID = env("WECHATPAY_APPID", default="")
WECHATPAY_APIV3_KEY = env("WECHATPAY_APIV3_KEY", default="")
WECHATPAY_PRIVATE_KEY_FILE = env("WECHATPAY_PRIVATE_KEY_FILE", default="")
WECHATPAY_CERT_SERIAL_NO = env("WECHATPAY_CERT_SERIAL_NO", default="")
WECHATPAY_PUBLIC_KEY_FILE = env("WECHATPAY_PUBLIC_KEY_FILE", default="")
WECHATPAY_PUBLIC_KEY_ID = env("WECHATPAY_PUBLIC_KEY_ID", default="")
# 税收分类编码 per tax category for the 数电票 batch file (19 digits; finance decides the classification),
# e.g. BILLING_TAX_CLASSIFICATION_CODES=saas=3040205990000000000,maintenance=3040201030000000000
BILLING_TAX_CLASSIFICATION_CODES = env.dict("BILLING_TAX_CLASSIFICATION_CODES", default={})
# Security (issue 20): the API's paging bounds (portal/core/schemas.py: out of range is 422), …
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=100)
API_PAGE_MAX_LIMIT = env.int("API_PAGE_MAX_LIMIT", default=1000)
API_PAGE_MAX_OFFSET = env.int("API_PAGE_MAX_OFFSET", default=10_000_000)
# … a Content-Security-Policy on every page (portal/core/csp.py; the setting has Django 6.0's name and
# shape). Scripts and <style> elements only from this origin or with the request's nonce; inline style
# attributes stay allowed (they cannot run script; admin widgets and server-rendered widths use them).
# `'nonce'` stands for the request's nonce when a template used {{ csp_nonce }}. Pages whose forms are
# answered by a redirect to a payment page add SECURE_CSP_PAYMENT_ORIGINS to their form-action.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'nonce'"],
    "style-src": ["'self'", "'nonce'"],
    "style-src-attr": ["'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
SECURE_CSP_REPORT_ONLY = env.bool("SECURE_CSP_REPORT_ONLY", default=False)
# Pages whose forms are answered by a redirect to a payment rail (Stripe Checkout, Alipay's cashier).
SECURE_CSP_PAYMENT_ORIGINS = env.list(
    "SECURE_CSP_PAYMENT_ORIGINS",
    default=[
        "https://checkout.stripe.com",
        "https://openapi.alipay.com",
        "https://openapi-sandbox.dl.alipaydev.com",
    ],
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("licenses.fastpath.CheckinFastPathMiddleware") + 1,
    "portal.core.csp.ContentSecurityPolicyMiddleware",
)
TEMPLATES[0]["OPTIONS"]["context_processors"].append("portal.core.csp.csp_nonce")
INSTALLED_APPS += ["ninja"]  # the API docs page from ninja's own static files, not its CDN template
# … and the login lockout (portal/pages/login_limits.py, docs/SECURITY.md): failed logins per account
# *and* address ("key"), a higher ceiling per address for everyone behind one NAT, no lock of an account
# over all addresses; refused attempts answer 429. `login` caps every login POST per address.
ACCOUNT_ADAPTER = "portal.pages.login_limits.AccountAdapter"  # and its mails go through the outbox
ACCOUNT_RATE_LIMITS = {
    "login_failed": env("LOGIN_FAILED_RATE_LIMIT", default="5/15m/key,30/15m/ip"),
    "login": env("LOGIN_RATE_LIMIT", default="60/m/ip"),
}
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("ALLAUTH_TRUSTED_PROXY_COUNT", default=0)
# Outages (portal/core/outage.py): with the database unreachable, requests answer 503 with this Retry-After
# (seconds) instead of 500, logged once per outage. A connection attempt gives up after
# DATABASE_CONNECT_TIMEOUT seconds, so an unreachable host (not just a refused port) answers in time.
PORTAL_OUTAGE_RETRY_AFTER = env.int("PORTAL_OUTAGE_RETRY_AFTER", default=5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
# Fleet insights (licenses/services/fleet.py, issue 18). A deployment is late after the expected check-in
# interval plus jitter without one, silent after FLEET_SILENT_DAYS; a silent paying deployment alerts its
# owner once per silence, and opens a ticket for the editions listed. Support bundles: size limit, how long
# they are kept. Customers may move a deployment to a new machine FLEET_MOVES_PER_PERIOD times per
# FLEET_MOVE_PERIOD_DAYS per activation code.
FLEET_CHECKIN_INTERVAL_HOURS = env.int("FLEET_CHECKIN_INTERVAL_HOURS", default=24)
FLEET_CHECKIN_JITTER_HOURS = env.int("FLEET_CHECKIN_JITTER_HOURS", default=6)
FLEET_SILENT_DAYS = env.int("FLEET_SILENT_DAYS", default=3)
FLEET_TICKET_EDITIONS = env.list("FLEET_TICKET_EDITIONS", default=["enterprise", "source"])
FLEET_AT_RISK_OPEN_TICKETS = env.int("FLEET_AT_RISK_OPEN_TICKETS", default=5)
FLEET_UPSELL_THRESHOLD = env.float("FLEET_UPSELL_THRESHOLD", default=0.8)
FLEET_SUPPORT_BUNDLE_MAX_BYTES = env.int("FLEET_SUPPORT_BUNDLE_MAX_BYTES", default=100 * 1024 * 1024)
FLEET_SUPPORT_BUNDLE_RETENTION_DAYS = env.int("FLEET_SUPPORT_BUNDLE_RETENTION_DAYS", default=30)
FLEET_MOVES_PER_PERIOD = env.int("FLEET_MOVES_PER_PERIOD", default=2)
FLEET_MOVE_PERIOD_DAYS = env.int("FLEET_MOVE_PERIOD_DAYS", default=90)
FLEET_SUPPORT_BUNDLE_BODY_MAX = FLEET_SUPPORT_BUNDLE_MAX_BYTES + 64 * 1024  # the multipart envelope


# Partner area (issue 16): an approved deal registration protects the partner's claim on the end customer
# for this many days; partner users must use two-factor authentication like staff (default: outside DEBUG).
PARTNER_DEAL_PROTECTION_DAYS = env.int("PARTNER_DEAL_PROTECTION_DAYS", default=90)
PARTNER_MFA_REQUIRED = env.bool("PARTNER_MFA_REQUIRED", default=not DEBUG)
# Quotes (billing/services/quotes.py): a discount above this percentage needs a sales manager's approval
# (permission billing.approve_quote_discount); quotes are valid this many days unless set; renewal quotes
# add this uplift (percent) to the current price; from this many days before the end the portal shows the
# renewal quote.
QUOTE_DISCOUNT_APPROVAL_PERCENT = env.str("QUOTE_DISCOUNT_APPROVAL_PERCENT", default="10")
QUOTE_VALID_DAYS = env.int("QUOTE_VALID_DAYS", default=30)
QUOTE_RENEWAL_UPLIFT_PERCENT = env.str("QUOTE_RENEWAL_UPLIFT_PERCENT", default="0")
QUOTE_RENEWAL_WINDOW_DAYS = env.int("QUOTE_RENEWAL_WINDOW_DAYS", default=90)
