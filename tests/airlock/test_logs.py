"""Structured logs: every line names its request, user, case and task, in JSON in production."""

import io
import json
import logging

import pytest
from celery import shared_task
from django.urls import reverse

from airlock import logs
from devices.models import ApplicationState
from tests.factories import make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_lines(settings):
    """What the production console handler writes, as parsed JSON objects."""
    settings.LOG_REQUESTS = True
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_request_line_names_the_request_user_and_case(client, json_lines, reviewer, organisation):
    case = make_application(ApplicationState.SCREENING, organisation=organisation)
    client.force_login(reviewer)

    response = client.get(
        reverse("reviews:application", args=[case.pk]), HTTP_X_REQUEST_ID="edge-7f3a9c21"
    )

    assert response["X-Request-ID"] == "edge-7f3a9c21"
    [line] = [line for line in json_lines() if line["logger"] == "airlock.requests"]
    assert line["level"] == "INFO"
    assert line["time"].endswith("+00:00")
    assert line["request_id"] == "edge-7f3a9c21"
    assert line["user_id"] == str(reviewer.pk)
    assert line["case"] == case.reference
    assert (line["method"], line["status"]) == ("GET", 200)
    assert line["path"] == reverse("reviews:application", args=[case.pk])
    assert line["duration_ms"] >= 0


@pytest.mark.parametrize(
    "given", ["", "short", "has spaces in it", "x" * 200, "<script>1</script>"]
)
def test_a_missing_or_odd_request_id_is_replaced_with_a_new_one(client, given):
    response = client.get(reverse("healthz"), HTTP_X_REQUEST_ID=given)

    assert response["X-Request-ID"] != given
    assert len(response["X-Request-ID"]) == 32


def test_each_request_gets_its_own_id_and_forgets_it_afterwards(client):
    first = client.get(reverse("healthz"))["X-Request-ID"]
    second = client.get(reverse("healthz"))["X-Request-ID"]

    assert first != second
    assert logs.request_id.get() == ""


def test_an_error_is_logged_with_its_traceback(json_lines):
    logs.case.set("AIA-2026-0042")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("airlock.test").exception("it failed")
    finally:
        logs.case.set("")

    [line] = json_lines()
    assert line["message"] == "it failed"
    assert line["case"] == "AIA-2026-0042"
    assert "ValueError: boom" in line["exception"]


def test_a_task_sent_during_a_request_carries_its_context_to_the_worker():
    logs.request_id.set("req-12345678")
    logs.case.set("AIA-2026-0042")
    headers: dict = {}
    logs._carry_context(headers=headers)
    logs.request_id.set("")
    logs.case.set("")

    seen = {}

    @shared_task
    def remember():
        seen.update({name: variable.get() for name, variable in logs.FIELDS.items()})

    remember.apply(task_id="task-1", headers=headers)

    assert seen == {
        "request_id": "req-12345678",
        "user_id": "",
        "case": "AIA-2026-0042",
        "task_id": "task-1",
    }
    # Nothing leaks into whatever the worker runs next.
    assert logs.case.get() == ""
    assert logs.task_id.get() == ""


def test_production_logs_in_json_and_development_in_plain_text():
    from tests.security.test_deploy import PRODUCTION, setting

    assert setting("LOG_FORMAT", **PRODUCTION) == "json"
    assert setting("LOGGING['handlers']['console']['formatter']", **PRODUCTION) == "json"
    assert setting("CELERY_WORKER_HIJACK_ROOT_LOGGER", **PRODUCTION) == "False"
    assert setting("LOG_FORMAT", AIRLOCK_ENV="development") == "plain"
