"""The databases: the primary (pooled, persistent or behind pgbouncer) and the reporting
replica."""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from airlock.settings.env import BASE_DIR, env_bool, env_int, env_str

# PostgreSQL connections: either Django's native pool (DATABASE_POOL=on; psycopg_pool, one pool
# per process, DATABASE_POOL_MIN_SIZE to DATABASE_POOL_MAX_SIZE connections), or persistent
# connections of DATABASE_CONN_MAX_AGE seconds. Behind pgbouncer in transaction mode set
# DATABASE_PGBOUNCER=on: server-side cursors off (a cursor cannot outlive the transaction
# pgbouncer lends a server for) and no pool of our own. docs/DEPLOYMENT.md says more.
DATABASE_POOL = env_bool("DATABASE_POOL", False)
DATABASE_PGBOUNCER = env_bool("DATABASE_PGBOUNCER", False)


def _database(url: str) -> dict:
    config = dj_database_url.parse(
        url,
        conn_max_age=0 if DATABASE_POOL else env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=not DATABASE_POOL,
    )
    if config["ENGINE"] != "django.db.backends.postgresql":
        return config
    if DATABASE_POOL and DATABASE_PGBOUNCER:
        raise ImproperlyConfigured(
            "DATABASE_POOL and DATABASE_PGBOUNCER are alternatives: pgbouncer is the pool."
        )
    if DATABASE_POOL:
        config.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN_SIZE", 2),
            "max_size": env_int("DATABASE_POOL_MAX_SIZE", 10),
            # A request waits this long for a free connection before failing.
            "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
        }
    if DATABASE_PGBOUNCER:
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
    return config


DATABASES = {
    "default": _database(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'airlock.sqlite3'}")
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web server read while the Celery worker writes; the timeout
    # waits out a writer instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
# Read-only reporting (the programme dashboard, the queue's CSV export) can go to a replica:
# it may lag the primary by a few seconds, which a report can take and a form never could.
# Everything else reads and writes the primary. Tests treat the replica as the primary.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = _database(DATABASE_REPLICA_URL) | {"TEST": {"MIRROR": "default"}}
REPORTING_DATABASE = "replica" if DATABASE_REPLICA_URL else "default"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
