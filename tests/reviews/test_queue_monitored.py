"""The review queue flags a cleared case under a running post-clearance monitoring plan
("Monitored" beside its state), read in the rows query itself, and a plan starting or ending
early redraws a page the queue had kept."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from airlock.roles import Role
from devices.models import ApplicationState
from postclearance.models import MonitoringPlan, MonitoringStatus
from postclearance.services import MonitoringTerms, monitoring_plan_end, monitoring_plan_set_up
from reviews.models import Metric
from reviews.plan_terms import ThresholdSpec
from reviews.queue_read import QueueRows
from reviews.selectors import QueueFilters
from tests.factories import UserFactory, make_application

pytestmark = pytest.mark.django_db

S = ApplicationState
QUEUE = reverse("reviews:queue")
TAG = 'Monitored<span class="govuk-visually-hidden"> after clearance</span>'


def _terms() -> MonitoringTerms:
    today = timezone.localdate()
    return MonitoringTerms(
        starts_on=today,
        ends_on=today + timedelta(days=365),
        cadence_days=28,
        thresholds=[ThresholdSpec(Metric.SENSITIVITY, "gte", Decimal("0.90"), Decimal("0.80"))],
    )


def _plan(application, *, status=MonitoringStatus.ACTIVE, ends_in_days=30):
    return MonitoringPlan.objects.create(
        set_up_by=UserFactory(role=Role.LEAD_REVIEWER),
        application=application,
        starts_on=timezone.localdate() - timedelta(days=60),
        ends_on=timezone.localdate() + timedelta(days=ends_in_days),
        cadence_days=28,
        status=status,
    )


def _row_of(html: str, reference: str) -> str:
    start = html.index(f">{reference}</a>")
    return html[start : html.index("</tr>", start)]


def test_a_row_says_whether_its_case_is_under_a_running_plan(reviewer):
    monitored = make_application(S.CLEARED)
    _plan(monitored)
    ended = make_application(S.CLEARED)
    _plan(ended, status=MonitoringStatus.ENDED_EARLY)
    ran_out = make_application(S.CLEARED)
    _plan(ran_out, ends_in_days=-1)
    plain = make_application(S.CLEARED)
    testing = make_application(S.IN_CONTROLLED_TESTING)

    rows = QueueRows(user=reviewer, filters=QueueFilters())
    rows[0:25]  # builds the statement (and reads the reader's permissions) once
    with CaptureQueriesContext(connection) as queries:
        rows = rows[0:25]

    assert len(queries) == 1
    flags = {row.pk: row.monitored for row in rows}
    assert flags == {
        monitored.pk: True,
        ended.pk: False,
        ran_out.pk: False,
        plain.pk: False,
        testing.pk: False,
    }


def test_the_queue_page_tags_the_monitored_case_beside_its_state(client, reviewer):
    monitored = make_application(S.CLEARED)
    _plan(monitored)
    plain = make_application(S.CLEARED)
    client.force_login(reviewer)

    page = client.get(QUEUE).content.decode()

    assert TAG in _row_of(page, monitored.reference)
    assert "Cleared</strong>" in _row_of(page, monitored.reference)
    assert TAG not in _row_of(page, plain.reference)


def test_a_plan_set_up_or_ended_redraws_the_kept_page(client, lead_reviewer):
    cleared = make_application(S.CLEARED)
    client.force_login(lead_reviewer)
    assert TAG not in client.get(QUEUE).content.decode()

    plan = monitoring_plan_set_up(actor=lead_reviewer, application_id=cleared.pk, terms=_terms())
    assert TAG in _row_of(client.get(QUEUE).content.decode(), cleared.reference)

    monitoring_plan_end(actor=lead_reviewer, plan_id=plan.pk, reason="Withdrawn from market.")
    assert TAG not in client.get(QUEUE).content.decode()
