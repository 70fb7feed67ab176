"""Read-only reports go to the replica when one is configured (DATABASE_REPLICA_URL): the
programme dashboard and the queue's CSV export read nothing from the primary.

Here the "replica" is a second connection to the test database, added for this module, as
Django's test runner would make a TEST MIRROR of it; the rows are committed
(transaction=True), as they would be before any replica saw them.
"""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from devices.models import ApplicationState
from tests.factories import make_application

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.fixture(scope="module", autouse=True)
def replica_alias(django_db_setup, django_db_blocker):
    # The same settings dict as the test database's, so it follows that database's name.
    connections.settings["replica"] = connections["default"].settings_dict
    yield
    with django_db_blocker.unblock():
        connections["replica"].close()
    del connections.settings["replica"]
    del connections._connections.replica


@pytest.fixture(autouse=True)
def _reports_on_the_replica(settings):
    settings.REPORTING_DATABASE = "replica"


def test_the_dashboard_reads_only_from_the_replica(client, reviewer, organisation):
    make_application(ApplicationState.SCREENING, organisation=organisation)
    client.force_login(reviewer)
    client.get(reverse("reviews:dashboard"))  # sessions, permissions: warmed up

    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        response = client.get(reverse("reviews:dashboard"))

    assert response.status_code == 200
    assert len(replica) >= 5
    report_tables = ("reviews_checkpoint", "reviews_safetysignal", "reviews_incomingalert")
    assert not [q["sql"] for q in primary if any(table in q["sql"] for table in report_tables)]
    assert not [q["sql"] for q in primary if 'FROM "devices_application"' in q["sql"]]


def test_the_csv_export_reads_its_rows_from_the_replica(client, reviewer, organisation):
    case = make_application(ApplicationState.SCREENING, organisation=organisation)
    client.force_login(reviewer)

    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        response = client.get(reverse("reviews:queue-export"))
        body = b"".join(response.streaming_content).decode()

    assert case.reference in body
    assert any('FROM "devices_application"' in q["sql"] for q in replica)
    assert not any('FROM "devices_application"' in q["sql"] for q in primary)
