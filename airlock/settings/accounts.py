"""Signing in: users, passwords, sessions, the lockout, two-factor sign-in, invitations and
sign-ups."""

from datetime import timedelta

from airlock.settings.env import PRODUCTION, env_bool, env_int

AUTH_USER_MODEL = "airlock.User"
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out sign-in is refused before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, with the permissions and role read in one query.
    "airlock.backends.RoleBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A session ends at the first of: the browser closing, SESSION_IDLE_MINUTES without a request,
# SESSION_COOKIE_AGE after signing in (the last two kept by airlock.middleware).
# Sessions live in the database, not cached_db: a session deleted at sign-out while Redis was
# unreachable would come back from the cache once Redis returned. airlock.sessions reads the
# session, its person and their permissions in one query (with airlock.sessions'
# SessionUserMiddleware in place of Django's AuthenticationMiddleware).
SESSION_ENGINE = "airlock.sessions"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_MINUTES", 60) * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# django-axes: five wrong passwords for one email address from one IP address pause sign-in
# for that pair for 15 minutes (by pair, so a stranger cannot lock a colleague out from
# elsewhere). Attempts during the pause do not extend it, so "15 minutes" stays true.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
# Our sign-in form names the email field `username` (Django's AuthenticationForm).
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "airlock.accounts.lockout_username"
AXES_LOCKOUT_CALLABLE = "airlock.accounts.locked_out"
# Without django-ipware axes keys on REMOTE_ADDR; behind a proxy that is the proxy's address,
# which makes the pause per email address: stricter, and impossible to dodge with a forged
# X-Forwarded-For header.

# Two-factor sign-in (TOTP) for reviewers, lead reviewers and administrators.
AIRLOCK_REQUIRE_2FA = env_bool("AIRLOCK_REQUIRE_2FA", default=PRODUCTION)
OTP_TOTP_ISSUER = "Airlock"
# Setting up an authenticator needs a one-time link sent to the person's email address (a
# password alone must not enrol a second factor); the link works for this many hours.
TWO_FACTOR_ENROLMENT_HOURS = env_int("TWO_FACTOR_ENROLMENT_HOURS", 24)
# How long an invitation to join an organisation's team works (teams/services.py).
TEAM_INVITATION_DAYS = env_int("TEAM_INVITATION_DAYS", 7)
# Registering (teams/signup.py): how long the email confirmation link works, and how many
# sign-ups (and requests to join) one IP address may send an hour.
SIGNUP_LINK_HOURS = env_int("SIGNUP_LINK_HOURS", 24)
SIGNUPS_PER_HOUR = env_int("SIGNUPS_PER_HOUR", 10)
