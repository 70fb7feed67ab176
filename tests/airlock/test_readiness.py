"""/healthz/ready/: the object store, the broker, beat and a worker on each queue, each named."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from airlock.celery import app as celery_app
from airlock.models import Heartbeat, heartbeat_stamp
from airlock.tasks import heartbeat

pytestmark = pytest.mark.django_db

# Every queue the settings declare: a queue added there (documents, issue 15) is checked too.
QUEUES = list(settings.CELERY_TASK_QUEUES)


def _all_alive():
    heartbeat_stamp("beat")
    for queue in QUEUES:
        heartbeat(queue)


def test_it_is_ready_when_everything_answered_lately(client):
    _all_alive()

    response = client.get(reverse("healthz-ready"))

    assert response.status_code == 200
    assert response.json() == {
        "database": "ok",
        "broker": "ok",
        "storage": "ok",
        "beat": "ok",
        **{f"worker:{queue}": "ok" for queue in QUEUES},
    }
    assert "no-cache" in response["Cache-Control"]


def test_it_names_a_queue_no_worker_has_served_and_a_silent_beat(client, settings):
    _all_alive()
    Heartbeat.objects.filter(name="worker:partners").delete()
    Heartbeat.objects.filter(name="beat").update(
        at=timezone.now() - timedelta(seconds=settings.READY_HEARTBEAT_MAX_AGE + 60)
    )

    response = client.get(reverse("healthz-ready"))

    assert response.status_code == 503
    checks = response.json()
    assert checks["worker:partners"] == "never"
    assert checks["beat"].startswith("stale (")
    assert checks["beat"].endswith(" s ago)")
    assert checks["worker:interactive"] == "ok"


def test_heartbeats_go_stale_after_the_configured_age(client, settings):
    settings.READY_HEARTBEAT_MAX_AGE = 120
    _all_alive()

    with time_machine.travel(timezone.now() + timedelta(seconds=119)):
        fresh = client.get(reverse("healthz-ready"))
    with time_machine.travel(timezone.now() + timedelta(seconds=125)):
        stale = client.get(reverse("healthz-ready"))

    assert fresh.status_code == 200
    assert stale.status_code == 503


def test_a_store_that_cannot_be_written_is_not_ready(client, settings, tmp_path):
    _all_alive()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.PRIVATE_STORAGE_ROOT = blocker / "private"

    response = client.get(reverse("healthz-ready"))

    assert response.status_code == 503
    assert response.json()["storage"] == "unavailable (NotADirectoryError)"


def test_a_dead_broker_is_not_ready(client, dead_broker):
    _all_alive()

    response = client.get(reverse("healthz-ready"))

    assert response.status_code == 503
    assert response.json()["broker"] == "unavailable"


def test_liveness_stays_cheap_database_and_broker_only(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        response = client.get(reverse("healthz"))

    assert response.json() == {"database": "ok", "broker": "ok"}


def test_beat_sends_a_heartbeat_to_every_queue_each_minute():
    entries = {
        entry["args"][0]: entry
        for name, entry in celery_app.conf.beat_schedule.items()
        if entry["task"] == "airlock.tasks.heartbeat"
    }

    assert sorted(entries) == sorted(QUEUES)
    for queue, entry in entries.items():
        assert entry["schedule"] == 60.0
        assert entry["options"]["queue"] == queue
        assert entry["options"]["expires"] < 60


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_it_only_answers_get(client, method):
    assert getattr(client, method)(reverse("healthz-ready")).status_code == 405
