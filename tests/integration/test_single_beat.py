"""Two `celery beat` processes on one database: one schedules, the other stands by, and when
the first is killed the second takes over without running again what already ran.

Both beats are real processes (SingleBeatScheduler, airlock/beat.py) reading the schedule from
the test database and sending to Redis; the jobs are one-off clocked entries, as an
administrator might add, sent to a queue of this test's own, so the messages on it are exactly
the jobs beat sent. Runs on PostgreSQL and Redis (as in CI), once with each lock.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import ClockedSchedule, PeriodicTask

from tests.integration.processes import database_url, wait_for
from tests.needs import missing, require

REDIS_URL = os.environ.get("REDIS_URL", "")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db(transaction=True)


def _one_off(name: str, queue: str, seconds_from_now: float) -> PeriodicTask:
    clocked = ClockedSchedule.objects.create(
        clocked_time=timezone.now() + timedelta(seconds=seconds_from_now)
    )
    return PeriodicTask.objects.create(
        name=name,
        task="airlock.tasks.heartbeat",
        args=f'["{queue}"]',
        clocked=clocked,
        one_off=True,
        queue=queue,
    )


def _start_beat(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "airlock", "beat", "--loglevel=INFO"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.parametrize("lock", ["postgresql", "redis"])
def test_two_beats_schedule_each_job_once_and_the_survivor_takes_over(tmp_path, lock):
    require(
        missing(
            vendor=connection.vendor, redis_url=REDIS_URL, needs_redis=True, needs_postgresql=True
        )
    )
    queue = f"beat-test-{uuid.uuid4().hex[:8]}"
    broker = redis.Redis.from_url(REDIS_URL)
    env = os.environ | {
        "DATABASE_URL": database_url(),
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "BEAT_LOCK": lock,
        # Quick takeover for the test: a Redis lock lapses 3 s after its holder's last renewal,
        # and a standby tries for the lock every second.
        "BEAT_LOCK_TTL": "3",
        "LOG_FORMAT": "plain",
    }
    first_job = _one_off("first job", queue, seconds_from_now=8)
    logs = [tmp_path / "beat-1.log", tmp_path / "beat-2.log"]
    beats = [_start_beat(env, logs[0]), _start_beat(env, logs[1])]
    try:
        wait_for(lambda: broker.llen(queue) >= 1, "the first job to be sent", timeout=40)
        time.sleep(3)  # the other beat would have sent it by now too
        assert broker.llen(queue) == 1
        texts = [log.read_text() for log in logs]
        leaders = [i for i, text in enumerate(texts) if "holding the scheduler lock" in text]
        assert len(leaders) == 1, texts
        leader, standby = leaders[0], 1 - leaders[0]
        assert "standing by" in texts[standby]
        assert "first job" in texts[leader]
        assert "first job" not in texts[standby]

        beats[leader].send_signal(signal.SIGKILL)
        beats[leader].wait(timeout=10)
        _one_off("second job", queue, seconds_from_now=4)
        wait_for(lambda: broker.llen(queue) >= 2, "the survivor to send the second job", 40)
        time.sleep(3)

        assert broker.llen(queue) == 2
        survivor = logs[standby].read_text()
        assert "holding the scheduler lock" in survivor
        assert "second job" in survivor
        # It knew the first job had run: the leader saved that as it sent it.
        assert "first job" not in survivor
        first_job.refresh_from_db()
        assert not first_job.enabled
    finally:
        for process in beats:
            _stop(process)
        broker.delete(queue)
