"""A checkpoint falls due, the manufacturer reports a critical breach, testing is suspended and
the reviewer sees why."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

import airlock.queue
from devices.models import ApplicationEvent, ApplicationState, CheckpointReport
from notifications.services import notification_emails_send
from reviews.models import Checkpoint, SafetySignal, SignalSeverity, TestingPlan
from reviews.monitoring import checkpoints
from tests.checkpoint_emails import send_owed_emails
from tests.e2e.conftest import login
from tests.factories import TEST_PASSWORD, make_application

# The proportion's own box: "(optional)" when counts may be given instead (issue 11).
SENSITIVITY = re.compile(r"^Sensitivity( \(optional\))?$")

S = ApplicationState


@pytest.fixture
def queued(monkeypatch):
    """The live server runs in this process and there is no worker: record the tasks a
    request queues, and let the test do the worker's part."""
    sent = []
    monkeypatch.setattr(
        airlock.queue, "enqueue", lambda task_name, *args: sent.append((task_name, args)) or True
    )
    return sent


@pytest.fixture
def case(organisation, manufacturer, reviewer):
    application = make_application(
        S.IN_CONTROLLED_TESTING,
        organisation=organisation,
        created_by=manufacturer,
        assignee=reviewer,
        device__name="LungScan AI",
    )
    # Sensitivity at least 0.90, critical limit 0.80 (the factory's plan), suspending testing
    # on a critical breach; started 25 days ago, so the first 28-day checkpoint is 3 days off.
    TestingPlan.objects.filter(application=application).update(
        starts_on=timezone.localdate() - timedelta(days=25), suspend_on_critical_breach=True
    )
    return application


def test_a_critical_breach_reported_on_the_web_suspends_testing_and_reaches_the_reviewer(
    page, screenshot, case, manufacturer, reviewer, queued
):
    # The daily sweep creates the checkpoint and sends the 7-day reminder.
    result = checkpoints.checkpoints_sweep()
    assert (result.created, result.reminded_7_days) == (1, 1)
    send_owed_emails()  # the `emails` queue's part
    checkpoint = Checkpoint.objects.get(application=case, sequence=1)
    assert checkpoint.due_on == timezone.localdate() + timedelta(days=3)
    assert mail.outbox[-1].to == [manufacturer.email]

    login(page, manufacturer.email, TEST_PASSWORD)
    page.get_by_role("link", name=case.reference, exact=True).first.click()
    page.get_by_role("link", name="Testing, checkpoints and incidents").click()
    page.get_by_role("heading", name="Controlled testing").wait_for()
    screenshot("01-testing")
    page.get_by_role("link", name="Submit report for checkpoint 1").click()
    page.get_by_label("Cases processed in this period").fill("640")
    page.get_by_label(SENSITIVITY).fill("0.75")
    page.get_by_label("Narrative").fill("Two sites changed scanner settings in week two.")
    screenshot("02-report-form")
    page.get_by_role("button", name="Submit report").click()
    # Evaluated as it was saved: the page the manufacturer lands on already shows the breach
    # and the suspension, not "In controlled testing" with a green tag.
    page.get_by_text("It breaches the agreed thresholds: sensitivity 0.75 (critical).").wait_for()
    assert page.get_by_role("heading", name="Testing is suspended").is_visible()
    assert page.locator(".govuk-tag", has_text=S.SUSPENDED.label).first.is_visible()
    assert page.locator(".govuk-tag", has_text="Critical breach").first.is_visible()
    assert page.get_by_text("Reported, thresholds met").count() == 0
    screenshot("03-reported-breach-and-suspension")
    report = CheckpointReport.objects.get(checkpoint=checkpoint)
    assert report.evaluated_at is not None
    # The evaluation task still goes, to repair a failed evaluation; the signal's email too.
    assert ("reviews.tasks.evaluate_checkpoint_report", (report.pk,)) in queued
    signal = SafetySignal.objects.get(checkpoint_report=report)
    assert ("notifications.tasks.send_notification_emails", (f"signal:{signal.pk}",)) in queued
    notification_emails_send(key=f"signal:{signal.pk}")
    assert signal.severity == SignalSeverity.CRITICAL
    case.refresh_from_db()
    assert case.state == S.SUSPENDED
    suspension = ApplicationEvent.objects.get(application=case, transition="suspend")
    assert suspension.actor is None
    assert "critical limit of 0.8" in suspension.reason
    alert = mail.outbox[-1]
    assert alert.to == [reviewer.email]
    assert "Controlled testing is now suspended." in alert.body

    # At a phone's width the page fits: nothing scrolls sideways.
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot("04-manufacturer-at-375px")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Sign out").click()

    login(page, reviewer.email, TEST_PASSWORD)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Safety signals").click()
    page.get_by_role("heading", name="Safety signals").wait_for()
    row = page.get_by_role("row").filter(has_text="Sensitivity 0.75 breaches its threshold")
    assert row.get_by_text(SignalSeverity.CRITICAL.label, exact=True).is_visible()
    screenshot("05-signals")

    row.get_by_role("link").click()
    page.get_by_role("heading", name=signal.title).wait_for()
    screenshot("06-signal")
    page.get_by_role("link", name=case.reference).first.click()
    page.get_by_role("heading", name=case.title).wait_for()
    assert page.locator(".govuk-tag", has_text=S.SUSPENDED.label).first.is_visible()
    assert page.get_by_text("Suspended automatically at checkpoint 1").first.is_visible()
    screenshot("07-case-suspended")

    page.get_by_role("link", name="Testing performance").first.click()
    page.get_by_role("heading", name="Testing performance").wait_for()
    assert "Critical breach" in page.get_by_role("table").first.inner_text()
    screenshot("08-performance")
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link").click()
    sections = page.get_by_role("navigation", name="Case sections")
    sections.get_by_role("link", name="Testing plan").click()
    page.get_by_role("heading", name="Testing plan").first.wait_for()
    screenshot("09-plan")
    assert SafetySignal.objects.filter(application=case).count() == 1
