import re
from datetime import timedelta

import pytest
from django.utils import timezone

import airlock.queue
from devices.models import ApplicationState, CheckpointReport
from reviews.models import Checkpoint, CheckpointStatus, PartnerRegulator
from tests.e2e.conftest import login
from tests.factories import TEST_PASSWORD, make_application

# The proportion's own box: "(optional)" when counts may be given instead (issue 11).
SENSITIVITY = re.compile(r"^Sensitivity( \(optional\))?$")

# Did the chart paint? Count the pixels Chart.js drew that are not transparent.
PAINTED_PIXELS = """canvas => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) painted += 1; }
  return painted;
}"""


@pytest.fixture
def queued(monkeypatch):
    """The live server runs in this process: record tasks instead of sending them."""
    sent = []
    monkeypatch.setattr(
        airlock.queue, "enqueue", lambda task_name, *args: sent.append((task_name, *args)) or True
    )
    return sent


@pytest.fixture
def case(organisation, reviewer):
    application = make_application(
        ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )
    today = timezone.localdate()
    for sequence, value in [(1, 0.93), (2, 0.88)]:
        checkpoint = Checkpoint.objects.create(
            application=application,
            sequence=sequence,
            due_on=today - timedelta(days=28 * (3 - sequence)),
            status=CheckpointStatus.SUBMITTED,
        )
        CheckpointReport.objects.create(
            checkpoint=checkpoint,
            submitted_by=application.created_by,
            cases_processed=900,
            metrics={"sensitivity": value},
            evaluated_at=timezone.now(),
        )
    Checkpoint.objects.create(application=application, sequence=3, due_on=today)
    return application


def test_a_reported_breach_shows_on_the_reviewers_chart(
    page, screenshot, case, manufacturer, reviewer, queued
):
    login(page, manufacturer.email, TEST_PASSWORD)
    page.goto(f"/applications/{case.pk}/testing/")
    page.get_by_role("link", name="Submit report for checkpoint 3").click()
    page.get_by_label("Cases processed in this period").fill("1150")
    page.get_by_label(SENSITIVITY).fill("0.78")
    page.get_by_label("Subgroup figures").fill("age 65+, sensitivity, 0.74")
    page.get_by_label("Narrative").fill("A new scanner went live at one site mid-period.")
    screenshot("report-form")
    page.get_by_role("button", name="Submit report").click()
    # Evaluated as it was saved: the page says what it found.
    page.get_by_text("Checkpoint 3 report submitted. It breaches the agreed thresholds").wait_for()
    screenshot("reported")
    assert queued[0][:1] == ("reviews.tasks.evaluate_checkpoint_report",)
    page.get_by_role("button", name="Sign out").click()

    login(page, reviewer.email, TEST_PASSWORD)
    page.goto(f"/reviews/applications/{case.pk}/performance/")
    page.get_by_role("heading", name="Testing performance").wait_for()
    canvas = page.locator("#chart-sensitivity")
    canvas.wait_for()

    drawn = page.evaluate(
        "() => Chart.getChart(document.getElementById('chart-sensitivity')).data.datasets"
        ".map(d => [d.label, d.data])"
    )
    assert drawn[0] == ["Reported sensitivity", [0.93, 0.88, 0.78]]
    assert drawn[1][0] == "Threshold (at least 0.9)"
    assert drawn[2][0] == "Critical limit (0.8)"
    assert canvas.evaluate(PAINTED_PIXELS) > 1000
    table = page.get_by_role("table", name="Sensitivity at each checkpoint")
    rows = table.get_by_role("row")
    # Checkpoint, due, model version, reported value, ...
    assert rows.nth(3).inner_text().split("\t")[3] == "0.78"
    assert "Critical breach" in rows.nth(3).inner_text()
    assert "Met" in rows.nth(1).inner_text()
    assert page.get_by_role("link", name="Sensitivity 0.78 breaches its threshold").is_visible()
    screenshot("performance")

    PartnerRegulator.objects.create(
        name="Health Canada", country="Canada", webhook_url="https://hc.example/alerts"
    )
    page.get_by_role("link", name="Sensitivity 0.78 breaches its threshold").click()
    page.get_by_role("button", name="Share with partners").click()
    page.get_by_text("1 webhook delivery queued").wait_for()
    assert page.get_by_role("table", name="Webhook deliveries of this signal").is_visible()
    screenshot("signal")

    page.get_by_role("link", name="Dashboard").click()
    page.get_by_role("heading", name="Programme dashboard").wait_for()
    assert page.get_by_role("link", name="Dashboard").get_attribute("aria-current") == "page"
    screenshot("dashboard")
