"""Test settings: PostgreSQL and Redis on loopback when they answer (always in CI), else SQLite.

The choice is printed in pytest's header (see tests/conftest.py).
"""

import os
import socket
from pathlib import Path


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


os.environ.setdefault("DEBUG", "1")
if "DATABASE_URL" not in os.environ and _reachable("127.0.0.1", 5432):
    os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/portal"
REDIS_URL = os.environ.get("TEST_REDIS_URL") or (
    "redis://127.0.0.1:6379/15" if _reachable("127.0.0.1", 6379) else ""
)

from portal.settings import *  # noqa: E402,F403
from portal.settings import DATABASES, STATIC_ROOT, VAR_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "test-media"
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request when it is missing
ACCOUNT_RATE_LIMITS = False  # type: ignore[assignment]  # allauth: False turns every limit off
DATABASE_VENDOR = "postgresql" if DATABASES["default"]["ENGINE"].endswith("postgresql") else "sqlite"
