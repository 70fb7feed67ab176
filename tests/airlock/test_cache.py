"""With Redis unreachable the site runs on the database alone (see airlock/cache.py)."""

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from devices.models import ApplicationState
from tests.factories import make_application

# Nothing listens on port 1: every cache call is refused at once.
DEAD_REDIS = {
    "default": {
        "BACKEND": "airlock.cache.ResilientRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


@override_settings(CACHES=DEAD_REDIS)
def test_it_reads_as_a_miss_and_drops_writes_when_redis_is_down():
    assert cache.get("key", "fallback") == "fallback"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.set("key", "value") is None
    assert cache.add("key", "value") is False
    assert cache.delete("key") is False


@pytest.mark.django_db
@override_settings(CACHES=DEAD_REDIS)
def test_the_queue_and_a_case_still_open_when_redis_is_down(client, reviewer):
    application = make_application(ApplicationState.SUBMITTED)
    client.force_login(reviewer)

    queue = client.get(reverse("reviews:queue"))
    case = client.get(reverse("reviews:application", args=[application.pk]))

    assert queue.status_code == 200
    assert application.reference in queue.content.decode()
    assert case.status_code == 200
