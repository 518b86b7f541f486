"""Settings of the bare project: as little as Django and ninja need, production-like otherwise."""

SECRET_KEY = "bench-only-bare-ninja-not-a-secret-0123456789-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bare_ninja.urls"
WSGI_APPLICATION = "bare_ninja.wsgi.application"
DATABASES: dict = {}
USE_I18N = False
USE_TZ = True
LOGGING_CONFIG = None
