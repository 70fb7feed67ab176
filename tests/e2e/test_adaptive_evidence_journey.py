"""Issue 11's journey: an adaptive device's manufacturer notifies a change inside the change
protocol (accepted at once) and one outside it (held, the reviewer decides); a slide in
sensitivity raises a drift warning before any threshold is crossed, and a subgroup gap an
equity signal; then a cleared device reports under its post-clearance monitoring plan, and
its manufacturer reports a serious incident there.

The records the journey starts from are made through the services; the browser does what
people do: notify, decide, report, set up monitoring."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

import airlock.queue
from devices.models import AiType, ApplicationState
from postclearance.models import MonitoringPlan
from reviews.models import ChangeKind, Checkpoint, ModelChange, SafetySignal
from reviews.monitoring.checkpoints import checkpoints_sweep
from reviews.monitoring.reports import checkpoint_report_submit
from tests.e2e.conftest import fill_date, login
from tests.factories import TEST_PASSWORD, DeviceFactory, make_application

SENSITIVITY = re.compile(r"^Sensitivity( \(optional\))?$")
EVIDENCE = "Validation report on 500 held-out cases"


@pytest.fixture
def queued(monkeypatch):
    """The live server runs in this process: record tasks instead of sending them."""
    sent = []
    monkeypatch.setattr(
        airlock.queue, "enqueue", lambda task_name, *args: sent.append((task_name, *args)) or True
    )
    return sent


@pytest.fixture
def adaptive(organisation, manufacturer, reviewer):
    """An adaptive device in testing under a change protocol, two checkpoints reported (0.95,
    then 0.93) and the third waiting."""
    device = DeviceFactory(organisation=organisation, ai_type=AiType.ADAPTIVE, name="DermaWatch")
    application = make_application(
        ApplicationState.IN_CONTROLLED_TESTING,
        organisation=organisation,
        device=device,
        assignee=reviewer,
        created_by=manufacturer,
    )
    plan = application.testing_plan
    plan.allowed_change_kinds = [ChangeKind.RETRAINING, ChangeKind.RECALIBRATION]
    plan.change_evidence = EVIDENCE
    plan.required_subgroups = "Fitzpatrick I-III\nFitzpatrick IV-VI"
    plan.equity_gap_limit = Decimal("0.05")
    plan.save()
    today = timezone.localdate()
    for sequence, value in [(1, 0.95), (2, 0.93)]:
        checkpoint = Checkpoint.objects.create(
            application=application,
            sequence=sequence,
            due_on=today - timedelta(days=28 * (3 - sequence)),
        )
        checkpoint_report_submit(
            actor=manufacturer,
            checkpoint_id=checkpoint.pk,
            cases_processed=1000,
            metrics={"sensitivity": value},
            subgroup_metrics={
                "Fitzpatrick I-III": {"sensitivity": value},
                "Fitzpatrick IV-VI": {"sensitivity": value - 0.01},
            },
        )
    Checkpoint.objects.create(application=application, sequence=3, due_on=today)
    return application


def notify_change(page, kind: str, label: str, what: str, figures: str) -> None:
    page.get_by_label("Kind of change").select_option(label=kind)
    page.get_by_label("New version").fill(label)
    fill_date(page, "In use from", timezone.localdate())
    page.get_by_label("What changed").fill(what)
    page.get_by_label("Validation figures of the changed model").fill(figures)
    page.get_by_label(f"Evidence: {EVIDENCE}").fill("Evidence document VR-" + label)
    page.get_by_role("button", name="Notify the change").click()


def test_changes_under_the_protocol_then_drift_and_equity_before_a_breach(
    page, screenshot, adaptive, manufacturer, reviewer, queued
):
    login(page, manufacturer.email, TEST_PASSWORD)
    page.goto(f"/applications/{adaptive.pk}/model-changes/")
    notify_change(
        page,
        "Retraining on new data from the same population",
        "1.1",
        "Retrained with 6,000 new images from the same trusts.",
        "sensitivity, 960/1000",
    )
    page.get_by_text("It is within the change protocol: version 1.1 is recorded").wait_for()
    notify_change(
        page,
        "A change of model architecture",
        "2.0",
        "A larger backbone trained on the same data.",
        "sensitivity, 470/500",
    )
    page.get_by_text("It is outside the change protocol, so it is held").wait_for()
    screenshot("01-changes-notified")
    assert sorted(ModelChange.objects.values_list("version_label", "status")) == [
        ("1.1", "recorded"),
        ("2.0", "held"),
    ]

    # The third checkpoint: 0.91 still meets "at least 0.90", but the slide from 0.95 is
    # caught, and the skin-type bands are 0.06 apart (both meeting it) (the plan allows 0.05).
    page.goto(f"/applications/{adaptive.pk}/testing/")
    page.get_by_role("link", name="Submit report for checkpoint 3").click()
    page.get_by_label("Cases processed in this period").fill("1000")
    page.get_by_label(SENSITIVITY).fill("0.91")
    page.get_by_label("Subgroup figures").fill(
        "Fitzpatrick I-III, sensitivity, 0.96\nFitzpatrick IV-VI, sensitivity, 0.90"
    )
    page.get_by_role("button", name="Submit report").click()
    page.get_by_text("Drift (early warning): Sensitivity is sliding").wait_for()
    page.get_by_text("Subgroup equity: Sensitivity differs by 0.06 between subgroups").wait_for()
    screenshot("02-drift-and-equity")
    page.get_by_role("button", name="Sign out").click()

    login(page, reviewer.email, TEST_PASSWORD)
    held = ModelChange.objects.get(version_label="2.0")
    page.goto(f"/reviews/model-changes/{held.pk}/")
    page.get_by_label("Refuse the change: the version in use stays").check()
    page.get_by_label("Reason").fill("An architecture change needs a new agreement first.")
    page.get_by_role("button", name="Record the decision").click()
    page.get_by_text("Decision recorded; the manufacturer has been told.").wait_for()
    held.refresh_from_db()
    assert held.status == "refused"

    page.goto(f"/reviews/applications/{adaptive.pk}/performance/")
    page.get_by_role("heading", name="Testing performance").wait_for()
    screenshot("03-performance")
    sources = set(SafetySignal.objects.values_list("source", flat=True))
    # Early warnings only: nothing crossed the threshold.
    assert sources == {"drift", "equity"}


@pytest.fixture
def cleared(organisation, manufacturer, reviewer):
    return make_application(
        ApplicationState.CLEARED,
        organisation=organisation,
        assignee=reviewer,
        created_by=manufacturer,
    )


def test_a_cleared_device_reports_under_its_monitoring_plan(
    page, screenshot, cleared, manufacturer, lead_reviewer, queued
):
    login(page, lead_reviewer.email, TEST_PASSWORD)
    page.goto(f"/reviews/applications/{cleared.pk}/")
    page.get_by_role("link", name="Post-clearance monitoring").click()
    page.get_by_label("Days between checkpoints").fill("14")
    page.get_by_label("Required subgroups").fill("age 65+")
    threshold = page.get_by_role("group", name="Threshold 1")
    threshold.get_by_label("Metric").select_option("sensitivity")
    threshold.get_by_label("Threshold", exact=True).fill("0.9")
    threshold.get_by_label("Critical value").fill("0.8")
    page.get_by_role("button", name="Set up monitoring").click()
    page.get_by_text("is under post-clearance monitoring until").wait_for()
    screenshot("01-plan-set-up")
    page.get_by_role("button", name="Sign out").click()

    # The morning's sweep: the first checkpoint, due in 14 days, appears.
    plan = MonitoringPlan.objects.get(application=cleared)
    assert checkpoints_sweep().created == 1
    login(page, manufacturer.email, TEST_PASSWORD)
    page.goto(f"/applications/{cleared.pk}/")
    page.get_by_role("link", name="Monitoring plan and checkpoints").click()
    page.get_by_role("heading", name="Post-clearance monitoring").wait_for()
    screenshot("02-manufacturer-plan")
    page.get_by_role("link", name="Submit report for checkpoint 1").click()
    page.get_by_label("Cases processed in this period").fill("640")
    page.get_by_label(SENSITIVITY).fill("0.78")
    page.get_by_label("Subgroup figures").fill("age 65+, sensitivity, 0.80")
    page.get_by_role("button", name="Submit report").click()
    page.get_by_text("Checkpoint 1 report submitted. It breaches").wait_for()
    screenshot("03-reported-under-monitoring")
    signal = SafetySignal.objects.get(checkpoint_report__checkpoint__monitoring_plan=plan)
    assert signal.severity == "critical"
    cleared.refresh_from_db()
    assert cleared.state == ApplicationState.CLEARED

    # A serious incident on the cleared device, from its case page, as during testing.
    page.goto(f"/applications/{cleared.pk}/")
    page.get_by_role("link", name="Report a serious incident").click()
    page.get_by_label("What kind of serious incident").select_option(label="Other serious incident")
    yesterday = timezone.localdate() - timedelta(days=1)
    fill_date(page, "Date of the incident", yesterday)
    fill_date(page, "Date you became aware of it", yesterday)
    page.get_by_label("What happened").fill("A patient flagged low risk; AF found a week later.")
    page.get_by_role("button", name="Report the incident").click()
    page.get_by_text("Incident reported. Your reviewer has been told.").wait_for()
    screenshot("04-incident-under-monitoring")
    assert SafetySignal.objects.get(incident__application=cleared).severity == "high"
    page.get_by_role("button", name="Sign out").click()

    login(page, lead_reviewer.email, TEST_PASSWORD)
    page.goto("/reviews/dashboard/")
    page.get_by_role("heading", name="Under post-clearance monitoring (1)").wait_for()
    screenshot("05-dashboard")
