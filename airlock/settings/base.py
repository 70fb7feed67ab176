"""The site itself: secret key and hosts, apps, middleware, templates, language and time,
static files and the form template pack."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from airlock.settings.env import BASE_DIR, PRODUCTION, env_bool, env_list, env_str

DEBUG = env_bool("DEBUG", default=not PRODUCTION)

if PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY")
    # Django's generated placeholder keys start with this prefix; a short key is guessable.
    if SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "SECRET_KEY must be a random value of at least 50 characters in production."
        )
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Set ALLOWED_HOSTS in production.")
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off in production.")
else:
    SECRET_KEY = env_str("SECRET_KEY", "django-insecure-development-only-never-use-in-production")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])

INSTALLED_APPS = [
    "airlock",
    "devices",
    "reviews",
    "notifications",
    "teams",
    "calls",
    "observers",
    "ledger",
    "documents",
    "findings",
    "postclearance",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "django_fsm",
    "django_celery_beat",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from the application (a container has no separate web server):
    # compressed, with far-future caching for the hashed names collectstatic writes.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A request id for every log line of this request and of the tasks it sends.
    "airlock.logs.RequestContextMiddleware",
    "csp.middleware.CSPMiddleware",
    "airlock.middleware.PermissionsPolicyMiddleware",
    # Before anything reads the session cookie, the form or the path: a NUL is a 400 here.
    "airlock.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Counts API requests per address before authentication, so wrong tokens count too.
    "airlock.api_limits.ApiAddressLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's AuthenticationMiddleware, the person read with the session (airlock.sessions).
    "airlock.sessions.SessionUserMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages: a timed-out session says why on the sign-in page.
    "airlock.middleware.SessionTimeoutMiddleware",
    "airlock.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a refused sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "airlock.urls"
WSGI_APPLICATION = "airlock.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.unread_notifications",
            ],
        },
    },
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "staticfiles")))
if not PRODUCTION:
    # WhiteNoise serves what collectstatic put here (the Containerfile does); in development
    # runserver serves static files itself, and an empty folder keeps WhiteNoise quiet.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

CRISPY_ALLOWED_TEMPLATE_PACKS = ("govuk",)
CRISPY_TEMPLATE_PACK = "govuk"
