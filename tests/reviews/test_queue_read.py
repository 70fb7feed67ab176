"""The queue's page read as plain values, by SQL built once (reviews.queue_read)."""

from datetime import timedelta

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devices.models import Application, ApplicationState
from reviews.forms import QueueFilterForm
from reviews.models import ConflictOfInterest
from reviews.queue_read import QueueRows, _compiled
from reviews.selectors import QueueFilters
from tests.factories import CohortFactory, DeviceFactory, UserFactory, make_application

S = ApplicationState


def test_a_row_carries_what_the_case_shows(reviewer):
    assignee = UserFactory(full_name="", email="second@regulator.test")
    application = make_application(
        S.SCREENING,
        device=DeviceFactory(name="Lung <Scan>", version="2.1", clinical_area="respiratory"),
        cohort=CohortFactory(name="Spring"),
    )
    Application.objects.filter(pk=application.pk).update(assignee=assignee)

    [row] = QueueRows(user=reviewer, filters=QueueFilters())[0:25]
    application.refresh_from_db()

    assert (row.pk, row.reference, row.state) == (
        application.pk,
        application.reference,
        S.SCREENING,
    )
    assert row.state_enum == S.SCREENING
    assert str(row.device) == str(application.device) == "Lung <Scan> 2.1"
    assert row.device.get_clinical_area_display() == application.device.get_clinical_area_display()
    assert row.organisation == application.organisation.name
    assert (row.cohort, row.assignee) == ("Spring", str(assignee))
    assert row.updated_at == application.updated_at


def test_the_statement_is_built_once_and_still_reads_the_data_each_time(reviewer):
    first = make_application(S.SUBMITTED)
    rows = QueueRows(user=reviewer, filters=QueueFilters())
    assert [row.pk for row in rows[0:25]] == [first.pk]
    kept = len(_compiled())

    second = make_application(S.SUBMITTED)
    # A conflict declared after the statement was built: the statement reads the conflicts.
    ConflictOfInterest.objects.create(
        reviewer=reviewer, organisation=first.organisation, reason="Consulted for them."
    )
    with CaptureQueriesContext(connection) as queries:
        shown = [row.pk for row in rows[0:25]]

    assert shown == [second.pk]
    assert len(queries) == 1
    assert len(_compiled()) == kept


def test_each_reader_window_and_day_has_its_own_statement(reviewer, lead_reviewer):
    # The statements are kept per process, keyed by user id and day: an earlier test in the
    # same process (ids are reused after each test's rollback) may have kept these very keys.
    _compiled().clear()
    make_application(S.SUBMITTED)
    filters = QueueFilters()
    QueueRows(user=reviewer, filters=filters)[0:25]
    kept = len(_compiled())

    QueueRows(user=lead_reviewer, filters=filters)[0:25]
    QueueRows(user=reviewer, filters=filters)[25:50]
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        QueueRows(user=reviewer, filters=filters)[0:25]

    assert len(_compiled()) == kept + 3


def test_a_search_that_matches_nothing_shows_no_rows(reviewer):
    make_application(S.SUBMITTED)
    filters = QueueFilters(q="AIA-")
    everything = QueueRows(user=reviewer, filters=filters)[0:25]
    none = QueueRows(user=reviewer, filters=QueueFilters(q="no such device or maker"))[0:25]

    assert len(everything) == 1
    assert none == []


def test_the_cohort_menu_is_read_once_without_a_cursor(db):
    CohortFactory(name="Spring")
    form = QueueFilterForm({})

    with CaptureQueriesContext(connection) as queries:
        labels = [label for _, label in form.fields["cohort"].choices]
        again = [label for _, label in form.fields["cohort"].choices]

    assert labels == again == ["Any cohort", "Spring"]
    assert len(queries) == 1
    assert not queries[0]["sql"].startswith("DECLARE")


def test_the_rows_drawn_escape_every_value_and_tick_what_was_ticked(reviewer):
    from reviews.queue_rows import queue_rows

    application = make_application(
        S.SCREENING, device=DeviceFactory(name="<script>x</script>", version="1")
    )
    Application.objects.filter(pk=application.pk).update(assignee=reviewer)
    rows = QueueRows(user=reviewer, filters=QueueFilters())[0:25]

    html = queue_rows(
        rows, case_prefix="/reviews/applications/", is_lead=True, selected=[str(application.pk)],
        viewer_pk=reviewer.pk,
    )  # fmt: skip

    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt; 1" in html
    assert f'href="/reviews/applications/{application.pk}/"' in html
    assert f'value="{application.pk}" id="select-{application.pk}" checked>' in html
    assert '<td class="govuk-table__cell">You</td>' in html
