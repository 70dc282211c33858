"""Jiedao settings: everything that differs between machines comes from the environment (see README)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from jiedao.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("JIEDAO_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("JIEDAO_DEBUG", default=False)

_DEV_SECRET_KEY = "dev-only-jiedao-key-never-use-in-production-0123456789abcdefghij"
SECRET_KEY = env_str("JIEDAO_SECRET_KEY", required=not DEBUG) or _DEV_SECRET_KEY
if not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("Environment variable JIEDAO_SECRET_KEY must be at least 50 characters long.")

ALLOWED_HOSTS = env_list("JIEDAO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "Environment variable JIEDAO_ALLOWED_HOSTS is required when JIEDAO_DEBUG is off."
    )
CSRF_TRUSTED_ORIGINS = env_list("JIEDAO_CSRF_TRUSTED_ORIGINS", [])

# Key for field encryption of personal data (身份证号, phones). Later modules derive their keys from it.
FIELD_KEY = env_str("JIEDAO_FIELD_KEY", "" if not DEBUG else "dev-only-field-key-not-secret")
if FIELD_KEY and len(FIELD_KEY) < 16:
    raise ImproperlyConfigured("Environment variable JIEDAO_FIELD_KEY must be at least 16 characters long.")
# Earlier field keys, still accepted for reading while their values are re-encrypted (key rotation).
FIELD_OLD_KEYS = env_list("JIEDAO_FIELD_OLD_KEYS", [])
if any(len(key) < 16 for key in FIELD_OLD_KEYS):
    raise ImproperlyConfigured(
        "Environment variable JIEDAO_FIELD_OLD_KEYS: every key must be 16+ characters long."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "treebeard",
    "simple_history",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "jiedao.core",
    "jiedao.audit",
    "jiedao.notifications",
    "jiedao.cases",
    "jiedao.people",
    "jiedao.search",
    "jiedao.projects",
    "jiedao.supervision",
    "jiedao.relocation",
    "jiedao.patrol",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "jiedao.audit.middleware.AuditRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "jiedao.urls"
WSGI_APPLICATION = "jiedao.wsgi.application"
AUTH_USER_MODEL = "core.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "jiedao" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "jiedao.core.context_processors.shell",
                "jiedao.notifications.context_processors.inbox",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL says otherwise (PostgreSQL in production).
_DEFAULT_SQLITE = f"sqlite:///{VAR_DIR / 'jiedao.sqlite3'}"
_database_url = env_str("DATABASE_URL", _DEFAULT_SQLITE)
try:
    _db = dj_database_url.parse(_database_url, conn_max_age=env_int("JIEDAO_DB_CONN_MAX_AGE", 60, minimum=0))
except ValueError as exc:
    raise ImproperlyConfigured(
        f"Environment variable DATABASE_URL is not a valid database URL: {exc}"
    ) from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["ENGINE"] = "jiedao.core.sqlite"  # Django's, with writers queued on a file lock (see its docstring)
    _db["OPTIONS"] = {
        # wal_autocheckpoint: copy the WAL back every 10,000 pages (40 MB), not every 1,000: a case touches 30
        # or so index pages, so the default ran a checkpoint (and its fsync) in every 30th write transaction.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            " PRAGMA wal_autocheckpoint=10000;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db["ENGINE"] = "jiedao.core.postgresql"  # Django's, psycopg's query cache widened (its docstring)
    # Prepared statements: a statement a connection has run this many times is prepared and from then on
    # executed without being parsed and planned again (half the database's CPU per portal submission). 0 turns
    # them off, which a pooler in transaction mode (pgbouncer before 1.21) needs.
    _prepare_after = env_int("JIEDAO_DB_PREPARE_THRESHOLD", 5, minimum=0)
    if _prepare_after:
        _db.setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=_prepare_after)
else:
    raise ImproperlyConfigured("Environment variable DATABASE_URL must point at SQLite or PostgreSQL.")
_db["ATOMIC_REQUESTS"] = False
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_redis_url = env_str("JIEDAO_REDIS_URL", "")
if _redis_url:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis_url}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes: lock an account+address pair after repeated failures.
AXES_FAILURE_LIMIT = env_int("JIEDAO_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("JIEDAO_LOGIN_COOLOFF_MINUTES", 15, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Internationalisation: Chinese first, English available.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "jiedao" / "locale"]
TIME_ZONE = env_str("JIEDAO_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "jiedao" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 30 * 1024 * 1024

# Public portal: submissions allowed per phone number and per client address in a rolling hour.
PORTAL_RATE_PER_PHONE = env_int("JIEDAO_PORTAL_RATE_PER_PHONE", 5, minimum=1)
PORTAL_RATE_PER_IP = env_int("JIEDAO_PORTAL_RATE_PER_IP", 30, minimum=1)
# Reverse proxies in front of the app whose X-Forwarded-For is trusted (0: use the socket's address).
TRUSTED_PROXIES = env_int("JIEDAO_TRUSTED_PROXIES", 0, minimum=0, maximum=5)

# Security. Production (JIEDAO_DEBUG off) passes `manage.py check --deploy` with no warning.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("JIEDAO_SESSION_HOURS", 12, minimum=1) * 3600
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("JIEDAO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("JIEDAO_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# E-mail and SMS delivery of notifications. SITE_URL (https://jiedao.example.gov.cn) makes links absolute.
SITE_URL = env_str("JIEDAO_SITE_URL", "").rstrip("/")
if SITE_URL and not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("Environment variable JIEDAO_SITE_URL must start with http:// or https://.")
EMAIL_BACKEND = env_str("JIEDAO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("JIEDAO_FROM_EMAIL", "jiedao@localhost")
EMAIL_HOST = env_str("JIEDAO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("JIEDAO_EMAIL_PORT", 25, minimum=1, maximum=65535)
SMS_BACKEND = env_str("JIEDAO_SMS_BACKEND", "jiedao.notifications.sms.ConsoleSMSBackend")
SMS_FILE_PATH = Path(env_str("JIEDAO_SMS_FILE_PATH", str(VAR_DIR / "sms")))

# Map: tile URL template for Leaflet; empty draws boundaries on a blank background.
MAP_TILE_URL = env_str("JIEDAO_MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = env_str("JIEDAO_MAP_TILE_ATTRIBUTION", "")

# Background jobs (django-tasks with the database backend; `manage.py db_worker`).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
TICK_INTERVAL_SECONDS = env_int("JIEDAO_TICK_SECONDS", 60, minimum=5)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes failed credentials a 401 (session has none: 403).
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "jiedao.api_schema.JiedaoAutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Jiedao API",
    "DESCRIPTION": "Scoped REST API of the Jiedao sub-district platform.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several modules have a "kind", a "stage" or a "rating" with their own choices: name each enum after its
    # module.
    "ENUM_NAME_OVERRIDES": {
        "CaseRatingEnum": "jiedao.cases.models.Rating",
        "MatterRatingEnum": "jiedao.supervision.models.Rating",
        "ProjectKindEnum": "jiedao.projects.models.ProjectKind",
        "MeetingKindEnum": "jiedao.projects.models.MeetingKind",
        "PatrolRecordKindEnum": "jiedao.patrol.models.RecordKind",
        "ProjectStageEnum": "jiedao.projects.models.Stage",
        "ExpropriationStageEnum": "jiedao.relocation.models.Stage",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("JIEDAO_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
