"""Airlock settings, one module per subject, every value from the environment through the strict
helpers in airlock/settings/env.py. DJANGO_SETTINGS_MODULE is this package, airlock.settings.

AIRLOCK_ENV selects the profile: "development" (default, for `make run` and tests) or
"production", which refuses to start without a real SECRET_KEY and ALLOWED_HOSTS.

The modules are read in this order, each checking its own values as it is read.
"""

# isort: off
from airlock.settings.env import *  # noqa: F403
from airlock.settings.base import *  # noqa: F403
from airlock.settings.database import *  # noqa: F403
from airlock.settings.accounts import *  # noqa: F403
from airlock.settings.storage import *  # noqa: F403
from airlock.settings.cache_celery import *  # noqa: F403
from airlock.settings.mail import *  # noqa: F403
from airlock.settings.api import *  # noqa: F403
from airlock.settings.reports import *  # noqa: F403
from airlock.settings.logs import *  # noqa: F403
from airlock.settings.security import *  # noqa: F403
# isort: on
