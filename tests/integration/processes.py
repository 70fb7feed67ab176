"""What the multi-process tests share: the test database as another process reaches it, and
waiting for something another process does."""

import time
from urllib.parse import quote

from django.db import connection


def database_url() -> str:
    """The PostgreSQL test database as a URL another process can open."""
    settings = connection.settings_dict
    password = f":{quote(settings['PASSWORD'], safe='')}" if settings["PASSWORD"] else ""
    host = f"{settings['HOST'] or 'localhost'}:{settings['PORT'] or 5432}"
    return f"postgres://{quote(settings['USER'], safe='')}{password}@{host}/{settings['NAME']}"


def wait_for(condition, what: str, timeout: float = 60.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
