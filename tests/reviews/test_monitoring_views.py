import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

import airlock.queue
from airlock.roles import Role
from devices.models import Application, ApplicationState, CheckpointReport, ClockStage
from reviews.models import (
    AlertDelivery,
    AuditAction,
    AuditEntry,
    Checkpoint,
    CheckpointStatus,
    ConflictOfInterest,
    IncomingAlert,
    PartnerRegulator,
    SafetySignal,
    SignalSeverity,
    SignalSource,
    SignalStatus,
)
from tests.factories import UserFactory, make_application

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(datetime(2026, 9, 1, 9, 0, tzinfo=LONDON), tick=False):
        yield


@pytest.fixture
def case(organisation, reviewer):
    application = make_application(
        ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )
    for sequence, (due, value) in enumerate(
        [(date(2026, 6, 29), 0.93), (date(2026, 7, 27), 0.86), (date(2026, 8, 24), 0.78)],
        start=1,
    ):
        checkpoint = Checkpoint.objects.create(
            application=application,
            sequence=sequence,
            due_on=due,
            status=CheckpointStatus.SUBMITTED,
        )
        CheckpointReport.objects.create(
            checkpoint=checkpoint,
            submitted_by=application.created_by,
            cases_processed=1000,
            metrics={"sensitivity": value},
            evaluated_at=timezone.now(),
        )
    Checkpoint.objects.create(application=application, sequence=4, due_on=date(2026, 9, 21))
    return application


@pytest.fixture
def signal(case):
    return SafetySignal.objects.create(
        application=case,
        severity=SignalSeverity.CRITICAL,
        source=SignalSource.CHECKPOINT_BREACH,
        metric="sensitivity",
        observed_value="0.78",
        title="Sensitivity 0.78 breaches its threshold",
        description="Overall sensitivity was 0.78; the plan requires at least 0.9.",
    )


@pytest.fixture
def conflicted(organisation):
    user = UserFactory(role=Role.REVIEWER, email="conflicted@example.test")
    ConflictOfInterest.objects.create(reviewer=user, organisation=organisation, reason="Adviser.")
    return user


# --- Performance page ------------------------------------------------------------------------


def test_the_performance_page_charts_and_tabulates_each_metric(
    client, reviewer, case, signal, django_assert_max_num_queries
):
    client.force_login(reviewer)

    with django_assert_max_num_queries(12):
        response = client.get(reverse("reviews:performance", args=[case.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="chart-sensitivity"' in page
    assert "vendor/chartjs-4.5.1/chart.umd.min.js" in page
    [data] = json.loads(
        page.split('<script id="performance-data" type="application/json">')[1].split("</script>")[
            0
        ]
    )
    assert data["values"] == [0.93, 0.86, 0.78, None]
    assert (data["threshold"], data["critical"], data["comparator"]) == (0.9, 0.8, "gte")
    assert data["labels"][0] == "Checkpoint 1"
    rows = page.split('id="table-sensitivity"')[1].split("</table>")[0]
    assert rows.count("<tr ") == 5
    assert "Critical breach" in rows
    assert "Breach" in rows
    assert "Met" in rows
    assert "Not reported (scheduled)" in rows
    assert "Sensitivity 0.78 breaches its threshold" in page


def test_the_performance_page_is_for_reviewers_only(client, manufacturer, case):
    client.force_login(manufacturer)

    assert client.get(reverse("reviews:performance", args=[case.pk])).status_code == 403


def test_a_conflicted_reviewer_does_not_see_the_case(client, conflicted, case):
    client.force_login(conflicted)

    assert client.get(reverse("reviews:performance", args=[case.pk])).status_code == 404


def test_a_missing_case_is_not_found(client, reviewer):
    client.force_login(reviewer)

    assert client.get(reverse("reviews:performance", args=[999999])).status_code == 404


def test_the_performance_page_is_get_only(client, reviewer, case):
    client.force_login(reviewer)

    assert client.post(reverse("reviews:performance", args=[case.pk])).status_code == 405


# --- Programme dashboard ---------------------------------------------------------------------


def test_the_dashboard_counts_states_breached_clocks_and_overdue_checkpoints(
    client, reviewer, case, signal, django_assert_max_num_queries
):
    late = make_application(ApplicationState.SCREENING)
    Application.objects.filter(pk=late.pk).update(
        clock_stage=ClockStage.SCREENING, clock_due_on=date(2026, 8, 20)
    )
    Checkpoint.objects.filter(application=case, sequence=4).update(
        status=CheckpointStatus.OVERDUE, due_on=date(2026, 8, 30)
    )
    client.force_login(reviewer)

    # 16: the two for the cases under post-clearance monitoring (a count and the list).
    with django_assert_max_num_queries(16):
        response = client.get(reverse("reviews:dashboard"))

    assert response.status_code == 200
    context = response.context
    assert context["breached_count"] == 1
    assert context["overdue_count"] == 1
    assert (context["open_signal_count"], context["critical_signal_count"]) == (1, 1)
    counts = dict(context["state_counts"])
    assert counts[ApplicationState.IN_CONTROLLED_TESTING] == 1
    assert counts[ApplicationState.SCREENING] == 1
    page = response.content.decode()
    assert late.reference in page
    assert "In controlled testing" in page


def test_the_dashboard_is_for_reviewers(client, manufacturer):
    client.force_login(manufacturer)

    assert client.get(reverse("reviews:dashboard")).status_code == 403


# --- Safety signals --------------------------------------------------------------------------


def test_the_signal_list_shows_open_signals(
    client, reviewer, signal, django_assert_max_num_queries
):
    SafetySignal.objects.create(
        application=signal.application,
        severity=SignalSeverity.LOW,
        source=SignalSource.REVIEWER,
        status=SignalStatus.CLOSED,
        title="An old closed matter",
        description="-",
    )
    client.force_login(reviewer)

    with django_assert_max_num_queries(10):
        response = client.get(reverse("reviews:signals"))

    page = response.content.decode()
    assert signal.title in page
    assert "An old closed matter" not in page
    closed = client.get(reverse("reviews:signals"), {"show": "closed"}).content.decode()
    assert "An old closed matter" in closed
    assert (
        client.get(reverse("reviews:signals"), {"show": "nonsense", "page": "x"}).status_code == 200
    )


def test_a_conflicted_reviewer_sees_neither_the_list_entry_nor_the_signal(
    client, conflicted, signal
):
    client.force_login(conflicted)

    assert signal.title not in client.get(reverse("reviews:signals")).content.decode()
    assert client.get(reverse("reviews:signal-detail", args=[signal.pk])).status_code == 404
    assert client.post(reverse("reviews:signal-share", args=[signal.pk])).status_code == 404


def test_the_signal_page_shows_the_delivery_log(client, reviewer, signal):
    partner = PartnerRegulator.objects.create(
        name="Health Canada", country="Canada", webhook_url="https://hc.example/alerts"
    )
    AlertDelivery.objects.create(
        signal=signal, partner=partner, attempts=3, last_status_code=503, last_error="HTTP 503"
    )
    client.force_login(reviewer)

    page = client.get(reverse("reviews:signal-detail", args=[signal.pk])).content.decode()

    assert "Delivery log" in page
    assert "Health Canada" in page
    assert "Not delivered yet: will try again (attempt 3 failed)." in page
    # What answered is for administrators (the admin's delivery log), not reviewers.
    assert "503" not in page


def test_sharing_from_the_page(
    client, reviewer, signal, monkeypatch, django_capture_on_commit_callbacks
):
    PartnerRegulator.objects.create(
        name="Health Canada", country="Canada", webhook_url="https://hc.example/alerts"
    )
    sent = []
    monkeypatch.setattr(
        airlock.queue, "enqueue", lambda task_name, *args: sent.append(args) or True
    )
    client.force_login(reviewer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reviews:signal-share", args=[signal.pk]), follow=True)

    assert "1 webhook delivery queued" in response.content.decode()
    assert len(sent) == 1
    signal.refresh_from_db()
    assert signal.shared_at is not None


def test_sharing_needs_a_post(client, reviewer, signal):
    client.force_login(reviewer)

    assert client.get(reverse("reviews:signal-share", args=[signal.pk])).status_code == 405


def test_a_reviewer_sets_the_status(client, reviewer, signal):
    client.force_login(reviewer)

    client.post(reverse("reviews:signal-status", args=[signal.pk]), {"status": "investigating"})
    response = client.post(
        reverse("reviews:signal-status", args=[signal.pk]), {"status": "bogus"}, follow=True
    )

    signal.refresh_from_db()
    assert signal.status == SignalStatus.INVESTIGATING
    assert "Select a valid choice." in response.content.decode()


def test_closing_a_signal_needs_a_written_resolution_and_is_audited(client, reviewer, signal):
    client.force_login(reviewer)
    url = reverse("reviews:signal-status", args=[signal.pk])

    refused = client.post(url, {"status": "closed", "findings": "", "actions": " "})
    closed = client.post(
        url,
        {
            "status": "closed",
            "findings": "A scanner setting changed at site B.",
            "actions": "Setting restored; a re-run on the affected cases met the threshold.",
        },
        follow=True,
    )

    assert refused.status_code == 200
    assert set(refused.context["status_form"].errors) == {"findings", "actions"}
    assert refused.content.decode().startswith("<!doctype html>")
    assert "<title>Error: " in refused.content.decode()
    signal.refresh_from_db()
    assert signal.status == SignalStatus.CLOSED
    assert (signal.closed_by, signal.resolution_findings) == (
        reviewer,
        "A scanner setting changed at site B.",
    )
    entry = AuditEntry.objects.get(signal=signal)
    assert (entry.actor, entry.action) == (reviewer, AuditAction.SIGNAL_CLOSED)
    assert "Setting restored" in entry.detail
    page = closed.content.decode()
    assert "Signal closed, with its resolution on the record." in page
    assert "What was found" in page


def test_a_reviewer_raises_a_signal(client, reviewer, case):
    client.force_login(reviewer)
    url = reverse("reviews:signal-raise", args=[case.pk])

    assert client.get(url).status_code == 200
    bad = client.post(url, {"severity": "apocalyptic", "title": "", "description": ""})
    response = client.post(
        url,
        {"severity": "medium", "title": "Override rate rising", "description": "From 8% to 19%."},
    )

    assert set(bad.context["form"].errors) == {"severity", "title", "description"}
    signal = SafetySignal.objects.get(title="Override rate rising")
    assert response.url == reverse("reviews:signal-detail", args=[signal.pk])
    assert (signal.raised_by, signal.source) == (reviewer, SignalSource.REVIEWER)


def test_missing_signals_are_not_found(client, reviewer):
    client.force_login(reviewer)

    assert client.get(reverse("reviews:signal-detail", args=[999999])).status_code == 404


# --- Incoming alerts -------------------------------------------------------------------------


def test_reviewers_see_alerts_from_partners(client, reviewer, manufacturer):
    partner = PartnerRegulator.objects.create(name="Health Canada", country="Canada")
    IncomingAlert.objects.create(
        partner=partner,
        external_id="HC-9",
        title="Drift after scanner upgrade",
        severity=SignalSeverity.HIGH,
        device_name="ChestView 3",
        summary="Specificity fell from 0.92 to 0.81.",
        payload={},
    )
    client.force_login(reviewer)

    page = client.get(reverse("reviews:incoming-alerts")).content.decode()

    assert "Drift after scanner upgrade" in page
    assert "ChestView 3" in page
    client.force_login(manufacturer)
    assert client.get(reverse("reviews:incoming-alerts")).status_code == 403
