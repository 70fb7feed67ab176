"""A decision a regulator can stand behind, in the browser: a reported breach raises a signal and
suspends testing; a lead reviewer resumes it; an amendment to the plan takes effect once the
manufacturer agrees it; clearance is refused while the signal is open; the signal is closed with
a written resolution; clearance is proposed and countersigned through confirmation pages; the
manufacturer reads their copy of the exit report."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

import airlock.queue
from airlock.roles import Role
from devices.models import ApplicationState
from reviews.models import (
    AuditAction,
    AuditEntry,
    Checkpoint,
    Decision,
    DecisionKind,
    EvidenceAssessment,
    GmlpPrinciple,
    GmlpRating,
    SafetySignal,
    SignalStatus,
    TestingPlan,
)
from tests.e2e.conftest import fill_date, login
from tests.factories import TEST_PASSWORD, UserFactory, make_application

# The proportion's own box: "(optional)" when counts may be given instead (issue 11).
SENSITIVITY = re.compile(r"^Sensitivity( \(optional\))?$")

S = ApplicationState


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    # The live server runs in this process and no worker runs: the rows are what matter here.
    monkeypatch.setattr(airlock.queue, "enqueue", lambda task_name, *args: True)


@pytest.fixture
def proposer(db):
    return UserFactory(role=Role.LEAD_REVIEWER, full_name="Priya Shah", email="priya@example.test")


@pytest.fixture
def case(organisation, manufacturer, proposer):
    application = make_application(
        S.IN_CONTROLLED_TESTING,
        organisation=organisation,
        created_by=manufacturer,
        assignee=proposer,
        device__name="LungScan AI",
    )
    today = timezone.localdate()
    # Started 25 days ago: checkpoint 1 falls due in 3 days.
    TestingPlan.objects.filter(application=application).update(
        starts_on=today - timedelta(days=25), ends_on=today + timedelta(days=155)
    )
    application.plan_versions.update(
        starts_on=today - timedelta(days=25), ends_on=today + timedelta(days=155)
    )
    Checkpoint.objects.create(application=application, sequence=1, due_on=today + timedelta(3))
    return application


def sign_in_as(page, person) -> None:
    if page.get_by_role("button", name="Sign out").count():
        page.get_by_role("button", name="Sign out").click()
    login(page, person.email, TEST_PASSWORD)


def test_a_breach_is_resolved_before_a_clearance_is_proposed_and_countersigned(
    page, screenshot, case, manufacturer, proposer, lead_reviewer
):
    # 1. The manufacturer reports a critical breach; the page they land on says so.
    sign_in_as(page, manufacturer)
    page.goto(f"/applications/{case.pk}/checkpoints/1/report/")
    page.get_by_label("Cases processed in this period").fill("640")
    page.get_by_label(SENSITIVITY).fill("0.74")
    page.get_by_label("Subgroup figures").fill("age 65+, sensitivity, 0.70")
    page.get_by_role("button", name="Submit report").click()
    page.get_by_text("It breaches the agreed thresholds: sensitivity 0.74 (critical).").wait_for()
    assert page.get_by_role("heading", name="Testing is suspended").is_visible()
    screenshot("01-breach-reported")
    signal = SafetySignal.objects.get(application=case)

    # 2. The lead reviewer sees the signal in their notifications, and resumes testing, which
    # a critical signal makes a lead reviewer's call, with a reason.
    sign_in_as(page, proposer)
    page.get_by_role("link", name="Notifications").click()
    page.get_by_role("link", name=f"Critical safety signal: {signal.title}").click()
    page.get_by_role("heading", name=signal.title).wait_for()
    screenshot("02-signal-from-notification")
    page.goto(f"/reviews/applications/{case.pk}/")
    page.get_by_label("Reason to resume testing").fill(
        "Scanner settings restored at both sites; reports to continue."
    )
    page.get_by_role("button", name="Resume testing").click()
    page.get_by_text(f"{case.reference} is now in controlled testing.").wait_for()
    screenshot("03-resumed")

    # 3. The reviewer proposes an amendment: a longer period, reported fortnightly.
    page.goto(f"/reviews/applications/{case.pk}/testing-plan/")
    new_end = timezone.localdate() + timedelta(days=183)
    page.get_by_label("Days between checkpoints").fill("14")
    fill_date(page, "Testing ends on", new_end)
    page.get_by_role("button", name="Save as a draft").click()
    page.get_by_text("Amendment 1 is saved as a draft.").wait_for()
    page.get_by_role("button", name="Agree and send to the manufacturer").click()
    page.get_by_text("You agreed amendment 1 and sent it").wait_for()
    screenshot("04-amendment-sent")
    assert TestingPlan.objects.get(application=case).cadence_days == 28  # not in force yet

    # 4. The manufacturer reads it on their case and agrees it: it is in force.
    sign_in_as(page, manufacturer)
    page.get_by_role(
        "link", name=f"Agree or return version 2 (amendment 1) for {case.reference}"
    ).click()
    page.get_by_text("Checkpoints: every 28 days → every 14 days.").first.wait_for()
    screenshot("05-amendment-to-agree")
    page.get_by_label("I agree this testing plan on behalf of my organisation").check()
    page.get_by_role("button", name="Agree the plan").click()
    page.get_by_text("Amendment 1 is agreed and in force from now.").wait_for()
    screenshot("06-amendment-agreed")
    plan = TestingPlan.objects.get(application=case)
    assert (plan.version, plan.cadence_days, plan.ends_on) == (2, 14, new_end)
    assert AuditEntry.objects.filter(action=AuditAction.PLAN_AGREED, actor=manufacturer).exists()

    # 5. Testing is completed early, through a page that says so and asks why.
    sign_in_as(page, proposer)
    page.goto(f"/reviews/applications/{case.pk}/")
    page.get_by_role("link", name="Complete testing").click()
    page.get_by_text("Testing would end early").wait_for()
    page.get_by_label("Reason for completing testing").fill(
        "The sites have seen enough cases for the evidence review."
    )
    page.get_by_label("I confirm testing ends early").check()
    screenshot("07-complete-testing")
    page.get_by_role("button", name="Complete testing").click()
    page.get_by_text(f"{case.reference} is now in evidence review.").wait_for()
    EvidenceAssessment.objects.bulk_create(
        EvidenceAssessment(
            application=case,
            principle=principle,
            rating=GmlpRating.MET,
            comment="Shown by the evidence on file.",
            assessor=proposer,
        )
        for principle in GmlpPrinciple
    )

    # 6. Clearance is refused while the signal is open, naming it.
    page.goto(f"/reviews/applications/{case.pk}/decision/")
    assert page.get_by_text("Clearance cannot be proposed now.").is_visible()
    page.get_by_label("Propose clearance (another lead reviewer must countersign)").check()
    page.get_by_label("Rationale").fill("All ten principles met.")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="There is a problem").wait_for()
    assert page.title().startswith("Error: ")
    assert page.get_by_text(f"“{signal.title}” (critical)").first.is_visible()
    screenshot("08-clearance-refused-signal-open")
    assert not Decision.objects.filter(application=case, kind=DecisionKind.CLEAR).exists()

    # 7. The signal is closed with a written resolution.
    page.get_by_role("table").filter(has_text="Every safety signal on this case").get_by_role(
        "link", name=signal.title
    ).click()
    page.get_by_role("heading", name=signal.title).wait_for()
    page.get_by_role("combobox", name="Status").select_option(label="Closed")
    page.get_by_label("What was found").fill("A scanner setting changed at both sites in week two.")
    page.get_by_label("What was done").fill(
        "Settings restored and locked; the affected studies were re-read and met the threshold."
    )
    page.get_by_role("button", name="Save status").click()
    page.get_by_text("Signal closed, with its resolution on the record.").wait_for()
    screenshot("09-signal-resolved")
    assert SafetySignal.objects.get(pk=signal.pk).status == SignalStatus.CLOSED

    # 8. Clearance is proposed through its confirmation page.
    page.goto(f"/reviews/applications/{case.pk}/decision/")
    assert page.get_by_text("Not resolved yet").count() == 0
    page.get_by_label("Propose clearance (another lead reviewer must countersign)").check()
    page.get_by_label("Rationale").fill(
        "All ten GMLP principles met; the breach was explained, fixed and re-tested."
    )
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="What will happen").wait_for()
    screenshot("10-confirm-proposal")
    page.get_by_role("button", name="Propose clearance").click()
    page.get_by_text("Clearance proposed.").wait_for()

    # 9. Another lead reviewer countersigns on the countersign page, with the record in sight.
    sign_in_as(page, lead_reviewer)
    page.get_by_role("region", name="Clearances to countersign").get_by_role(
        "link", name=case.title
    ).click()
    page.get_by_role("heading", name="Countersign the clearance").wait_for()
    assert page.get_by_text("Settings restored and locked").is_visible()
    assert page.get_by_text("This cannot be undone.").is_visible()
    screenshot("11-countersign")
    page.get_by_role("button", name="Countersign: clear the device").click()
    page.get_by_text(f"Clearance countersigned: {case} is cleared.").wait_for()
    case.refresh_from_db()
    assert case.state == S.CLEARED

    # 10. The manufacturer reads their copy of the exit report.
    sign_in_as(page, manufacturer)
    page.goto(f"/applications/{case.pk}/")
    page.get_by_role("link", name="Exit report").click()
    page.get_by_role("heading", name=f"Exit report: {case.title}").wait_for()
    assert page.get_by_text("A scanner setting changed at both sites").first.is_visible()
    screenshot("12-manufacturer-exit-report")
