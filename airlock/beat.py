"""Exactly one Celery beat schedules jobs, however many are started.

Every beat process runs SingleBeatScheduler. Before a beat schedules anything it must hold the
scheduler lock; the others stand by, trying for it every few seconds, and one of them takes
over when the holder dies:

- PostgreSQL (`BEAT_LOCK=postgresql`): a session advisory lock on a connection of its own. The
  server releases it the moment that connection ends; TCP keepalives on both sides end the
  session of a holder whose machine vanished within about 30 seconds.
- Redis (`BEAT_LOCK=redis`): a key holding this process's token that expires BEAT_LOCK_TTL
  seconds after the holder last renewed it (every tick, at most 5 seconds apart).
- a file lock (`BEAT_LOCK=file`), for the embedded default where everything runs on one
  machine.

A leader checks it still holds the lock immediately before it sends each job, so a leader that
lost it (a network partition, a pause longer than the TTL) sends nothing more. On taking over,
a beat re-reads the schedule from the database, where the last leader saved each job's last
run as it sent it (CELERY_BEAT_SYNC_EVERY = 1), so nothing that already ran runs again.
"""

import contextlib
import fcntl
import logging
import os
import socket
import time
import uuid
import zlib
from pathlib import Path

import psycopg
import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django_celery_beat.schedulers import DatabaseScheduler

from airlock.models import heartbeat_stamp

logger = logging.getLogger(__name__)

# pg_try_advisory_lock takes a bigint; this one is "airlock beat" hashed.
ADVISORY_KEY = zlib.crc32(b"airlock beat")
REDIS_KEY = "airlock:beat:lock"
HEARTBEAT_EVERY_SECONDS = 30
# Compare-and-renew / compare-and-delete: only the holder's own token may touch the key.
RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"  # noqa: E501
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"  # noqa: E501


class PostgresLock:
    name = "postgresql"

    def __init__(self):
        self._conn: psycopg.Connection | None = None

    def _connect(self) -> psycopg.Connection:
        params = connection.get_connection_params()
        conn = psycopg.connect(
            **params,
            autocommit=True,
            connect_timeout=5,
            # Our side notices a dead server, and gives up on a hung query, within seconds...
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
            tcp_user_timeout=15000,
        )
        # ...and the server notices a dead holder, and frees the lock, within about 25 s.
        conn.execute("SET tcp_keepalives_idle = 10")
        conn.execute("SET tcp_keepalives_interval = 5")
        conn.execute("SET tcp_keepalives_count = 3")
        return conn

    def acquire(self) -> bool:
        try:
            if self._conn is None:
                self._conn = self._connect()
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_KEY]).fetchone()
            return bool(row[0])
        except psycopg.Error as error:
            logger.warning("beat lock: PostgreSQL unavailable (%s)", error)
            self._drop()
            return False

    def renew(self) -> bool:
        # The lock lives exactly as long as the session: a live session still holds it.
        try:
            self._conn.execute("SELECT 1")
            return True
        except (psycopg.Error, AttributeError) as error:
            logger.error("beat lock: lost the PostgreSQL session (%s)", error)
            self._drop()
            return False

    def release(self) -> None:
        self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None


class RedisLock:
    name = "redis"

    def __init__(self, url: str, ttl_seconds: int):
        self._client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self._ttl_ms = ttl_seconds * 1000
        self._token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def acquire(self) -> bool:
        try:
            return bool(self._client.set(REDIS_KEY, self._token, nx=True, px=self._ttl_ms))
        except redis.RedisError as error:
            logger.warning("beat lock: Redis unavailable (%s)", error)
            return False

    def renew(self) -> bool:
        try:
            return bool(self._client.eval(RENEW, 1, REDIS_KEY, self._token, self._ttl_ms))
        except redis.RedisError as error:
            logger.error("beat lock: could not renew in Redis (%s)", error)
            return False

    def release(self) -> None:
        with contextlib.suppress(redis.RedisError):
            self._client.eval(RELEASE, 1, REDIS_KEY, self._token)


class FileLock:
    name = "file"

    def __init__(self, path: Path):
        self._path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def renew(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def scheduler_lock():
    if settings.BEAT_LOCK == "postgresql":
        return PostgresLock()
    if settings.BEAT_LOCK == "redis":
        return RedisLock(settings.REDIS_URL, settings.BEAT_LOCK_TTL)
    return FileLock(settings.BEAT_LOCK_FILE)


class SingleBeatScheduler(DatabaseScheduler):
    """django-celery-beat's scheduler, run only by the holder of the scheduler lock."""

    def __init__(self, *args, **kwargs):
        self._lock = scheduler_lock()
        self._leading = False
        self._said_standing_by = False
        self._stamped_at = 0.0
        super().__init__(*args, **kwargs)

    @property
    def standby_poll_seconds(self) -> float:
        return max(1.0, min(5.0, settings.BEAT_LOCK_TTL / 3))

    def setup_schedule(self):
        # At start-up only the leader writes the code's schedule into the database: two beats
        # starting together would otherwise race to create the same rows.
        if self._leading:
            super().setup_schedule()

    def tick(self, *args, **kwargs):
        if not self._leading:
            if not self._lock.acquire():
                if not self._said_standing_by:
                    logger.info(
                        "beat: another beat holds the scheduler lock (%s); standing by",
                        self._lock.name,
                    )
                    self._said_standing_by = True
                return self.standby_poll_seconds
            self._lead()
        elif not self._lock.renew():
            self._stand_down()
            return self.standby_poll_seconds
        self._stamp()
        return min(super().tick(*args, **kwargs), self.standby_poll_seconds)

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        # The last moment to find out the lock was lost (a long pause, a partition): better a
        # job sent late by the new leader than sent twice.
        if not self._lock.renew():
            self._stand_down()
            return None
        return super().apply_async(entry, producer=producer, advance=advance, **kwargs)

    def close(self):
        super().close()
        # Hand over at once on a clean stop, instead of after the TTL.
        self._lock.release()

    def _lead(self) -> None:
        logger.info("beat: holding the scheduler lock (%s); scheduling jobs", self._lock.name)
        self._leading, self._said_standing_by = True, False
        # Start from what the database says ran last, not from anything seen while standing by.
        self._initial_read, self._schedule, self._heap = True, None, None
        super().setup_schedule()

    def _stand_down(self) -> None:
        logger.error("beat: lost the scheduler lock (%s); standing by", self._lock.name)
        # Every job sent was saved as it went (CELERY_BEAT_SYNC_EVERY = 1); what is left is a
        # job reserved but not sent, which the next leader must still see as due.
        self._dirty.clear()
        self._leading = False
        self._lock.release()
        self._schedule, self._heap = None, None

    def _stamp(self) -> None:
        now = time.monotonic()
        if now - self._stamped_at < HEARTBEAT_EVERY_SECONDS:
            return
        try:
            heartbeat_stamp("beat")
            self._stamped_at = now
        except DatabaseError as error:
            logger.warning("beat: could not record its heartbeat (%s)", error)
