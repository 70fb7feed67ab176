"""The scheduler lock behind SingleBeatScheduler: one holder at a time, and a successor once
the holder is gone. (Two real beat processes: tests/integration/test_single_beat.py.)"""

import os
import time

import pytest
from django.db import connection

from airlock import beat
from tests.integration.processes import wait_for
from tests.needs import missing, require

REDIS_URL = os.environ.get("REDIS_URL", "")


def test_a_file_lock_has_one_holder_until_it_lets_go(tmp_path):
    first, second = beat.FileLock(tmp_path / "beat.lock"), beat.FileLock(tmp_path / "beat.lock")

    assert first.acquire()
    assert not second.acquire()
    assert first.renew()
    first.release()
    assert second.acquire()
    assert not first.renew()
    second.release()


def test_a_redis_lock_passes_on_when_its_holder_stops_renewing():
    require(missing(vendor="", redis_url=REDIS_URL, needs_redis=True))
    first, second = beat.RedisLock(REDIS_URL, 1), beat.RedisLock(REDIS_URL, 1)
    first.release()
    try:
        assert first.acquire()
        assert not second.acquire()
        assert first.renew()
        # The holder dies: nobody renews, and the key expires after the TTL.
        time.sleep(1.5)
        assert second.acquire()
        assert not first.renew()
        first.release()  # a late release by the old holder leaves the new one's lock alone
        assert second.renew()
    finally:
        second.release()


@pytest.mark.django_db
def test_a_postgresql_lock_is_freed_the_moment_its_holders_session_ends():
    require(missing(vendor=connection.vendor, redis_url="", needs_postgresql=True))
    first, second = beat.PostgresLock(), beat.PostgresLock()
    try:
        assert first.acquire()
        assert not second.acquire()
        assert first.renew()
        first._conn.close()  # as when the holder's process or machine dies
        assert not first.renew()
        # The server frees the lock as the session's backend exits, a moment after the
        # connection closes; a standby tries again every few seconds anyway.
        wait_for(second.acquire, "the lock to pass to the second holder", timeout=10)
    finally:
        first.release()
        second.release()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "file"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/9"}, "redis"),
        ({"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x"}, "postgresql"),
        (
            {
                "DATABASE_URL": "postgres://postgres@127.0.0.1:6432/x",
                "DATABASE_PGBOUNCER": "on",
                "REDIS_URL": "redis://127.0.0.1:6379/9",
            },
            "redis",
        ),
        ({"BEAT_LOCK": "file", "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x"}, "file"),
    ],
)
def test_auto_picks_the_lock_the_services_allow(env, expected):
    from tests.security.test_deploy import setting

    base = {"DATABASE_URL": "sqlite:////tmp/airlock-settings-test.sqlite3", "REDIS_URL": ""}
    assert setting("BEAT_LOCK", **(base | env)) == expected


def test_a_redis_lock_without_redis_fails_loudly():
    from tests.security.test_deploy import run

    result = run(["-c", "import django; django.setup()"], BEAT_LOCK="redis", REDIS_URL="")

    assert result.returncode != 0
    assert "BEAT_LOCK=redis needs REDIS_URL" in result.stderr
