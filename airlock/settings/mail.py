"""Email, and the addresses emails link to."""

from airlock.settings.env import BASE_DIR, PRODUCTION, env_int, env_str

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
# Where Django's file-based email backend writes (the multi-node test reads every node's mail).
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
# The port `make run` serves on (runall), and so the one links in development emails use.
PORT = env_int("PORT", 8000)
# Absolute links in emails point here: set it to the address people use in production.
SITE_URL = env_str("SITE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")
# A case nobody is assigned to yet is emailed to this shared mailbox of the reviewers' team,
# if set; otherwise to every lead reviewer. (Everyone still sees it in their notifications.)
REVIEW_TEAM_EMAIL = env_str("REVIEW_TEAM_EMAIL", "")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Airlock <no-reply@airlock.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
