"""A lead reviewer assesses the ten GMLP principles and proposes clearance; four eyes: they
cannot countersign it themselves, another lead reviewer does, and the case is cleared."""

from datetime import timedelta

import pytest
from django.utils import timezone

import airlock.queue
from airlock.roles import Role
from devices.models import ApplicationEvent, ApplicationState, CheckpointReport
from devices.services import application_transition
from reviews.models import (
    Checkpoint,
    CheckpointStatus,
    Decision,
    DecisionKind,
    EligibilityCriterion,
    EvidenceAssessment,
    GmlpPrinciple,
    ScreeningAssessment,
    ScreeningOutcome,
    TestingPlan,
)
from tests.e2e.conftest import login, seed_eligibility_criteria
from tests.factories import TEST_PASSWORD, UserFactory, make_application

S = ApplicationState


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    # The live server runs in this process: the transition emails' tasks are not the point.
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
    # The history a case has by evidence review: screened, and checkpoints reported.
    seed_eligibility_criteria()
    for criterion in EligibilityCriterion.objects.filter(is_active=True):
        ScreeningAssessment.objects.create(
            application=application,
            criterion=criterion,
            outcome=ScreeningOutcome.MET,
            comment="Meets the criterion.",
            assessor=proposer,
        )
    today = timezone.localdate()
    TestingPlan.objects.filter(application=application).update(
        starts_on=today - timedelta(days=84), ends_on=today
    )
    for sequence, sensitivity in [(1, 0.93), (2, 0.92)]:
        checkpoint = Checkpoint.objects.create(
            application=application,
            sequence=sequence,
            due_on=today - timedelta(days=28 * (3 - sequence)),
            status=CheckpointStatus.SUBMITTED,
        )
        CheckpointReport.objects.create(
            checkpoint=checkpoint,
            submitted_by=manufacturer,
            cases_processed=900,
            metrics={"sensitivity": sensitivity},
            evaluated_at=timezone.now(),
        )
    application_transition(
        application_id=application.pk,
        action="complete_testing",
        actor=proposer,
        reason="Six months of testing complete; all checkpoints met.",
        confirmed=True,
    )
    return application


def test_a_clearance_takes_a_second_lead_reviewer_to_countersign(
    page, screenshot, case, proposer, lead_reviewer
):
    login(page, proposer.email, TEST_PASSWORD)
    page.get_by_role("link", name=case.title).first.click()
    sections = page.get_by_role("navigation", name="Case sections")
    sections.get_by_role("link", name="Evidence review").click()
    page.get_by_role("heading", name="Evidence review: Good Machine Learning Practice").wait_for()
    # Both are optional until one of them is given: the labels say "(optional)".
    for principle in GmlpPrinciple:
        page.get_by_label(
            f"Rating for principle {principle.value} (optional)", exact=True
        ).select_option(label="Met")
        page.get_by_label(f"Comment on principle {principle.value} (optional)", exact=True).fill(
            f"{principle.label}: shown by the evidence on file."
        )
    page.get_by_role("button", name="Save assessments").click()
    page.get_by_text("Saved 10 of 10 principles.").wait_for()
    assert EvidenceAssessment.objects.filter(application=case).count() == 10
    screenshot("01-gmlp-assessed")

    sections.get_by_role("link", name="Decision").click()
    page.get_by_text("10 of 10 GMLP principles assessed.").wait_for()
    page.get_by_label("Propose clearance (another lead reviewer must countersign)").check()
    page.get_by_label("Rationale").fill(
        "All ten GMLP principles met; sensitivity held above 0.90 at every checkpoint."
    )
    screenshot("02-decision")
    page.get_by_role("button", name="Continue").click()
    # A confirmation page says what proposing does; nothing is recorded until it is confirmed.
    page.get_by_role("heading", name="What will happen").wait_for()
    assert not Decision.objects.filter(application=case, kind=DecisionKind.CLEAR).exists()
    screenshot("02b-confirm-proposal")
    page.get_by_role("button", name="Propose clearance").click()
    page.get_by_text("Clearance proposed.").wait_for()

    # Four eyes: no button for the proposer, and the service refuses a forged request.
    page.goto(f"/reviews/applications/{case.pk}/countersign/")
    assert page.get_by_text("You proposed this clearance").is_visible()
    assert page.get_by_role("button", name="Countersign: clear the device").count() == 0
    screenshot("03-proposed-no-countersign")
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    forged = page.request.post(
        f"/reviews/applications/{case.pk}/countersign/",
        form={"expected_state": S.EVIDENCE_REVIEW},
        headers={"X-CSRFToken": csrf},
    )
    assert forged.ok
    assert "another lead reviewer must countersign it" in forged.text()
    case.refresh_from_db()
    assert case.state == S.EVIDENCE_REVIEW
    page.get_by_role("button", name="Sign out").click()

    login(page, lead_reviewer.email, TEST_PASSWORD)
    waiting = page.get_by_role("region", name="Clearances to countersign")
    waiting.get_by_role("link", name=case.title).click()
    page.get_by_role("heading", name="Countersign the clearance").wait_for()
    assert page.get_by_text("Proposed by Priya Shah").is_visible()
    assert page.get_by_text("This cannot be undone.").is_visible()
    screenshot("04-countersign")
    page.get_by_role("button", name="Countersign: clear the device").click()
    page.get_by_text(f"Clearance countersigned: {case} is cleared.").wait_for()
    assert page.locator(".govuk-tag", has_text=S.CLEARED.label).first.is_visible()
    screenshot("05-cleared")

    case.refresh_from_db()
    assert case.state == S.CLEARED
    decision = Decision.objects.get(application=case, kind=DecisionKind.CLEAR)
    assert (decision.decided_by, decision.countersigned_by) == (proposer, lead_reviewer)
    event = ApplicationEvent.objects.get(application=case, transition="clear")
    assert event.actor == lead_reviewer
    assert "Proposed by Priya Shah, countersigned by Leo Okafor." in event.reason

    sections.get_by_role("link", name="Exit report").click()
    page.get_by_role("heading", name=f"Exit report: {case.title}").wait_for()
    assert page.get_by_text(f"Status: {S.CLEARED.label}.").is_visible()
    assert page.get_by_text("Interim report.").count() == 0
    assert page.get_by_text("5 of 5 eligibility criteria met.").is_visible()
    screenshot("06-exit-report")
