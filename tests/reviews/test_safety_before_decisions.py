"""Safety before decisions: no clearance over an open safety signal, signals closed only with a
written resolution, resuming and completing testing only with the reasons a regulator needs.

Each rule is checked at the service, which the site, the admin, the API and the scheduled jobs
all call, so none of them can step round it.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from airlock.roles import Role
from devices.models import ApplicationState, CheckpointReport, IncidentReport, IncidentSeverity
from devices.services import TransitionRefused, application_transition
from reviews.decisions import clearance_countersign, decision_record
from reviews.models import (
    AuditAction,
    AuditEntry,
    Checkpoint,
    CheckpointStatus,
    Decision,
    DecisionKind,
    EvidenceAssessment,
    GmlpPrinciple,
    GmlpRating,
    SafetySignal,
    SignalSeverity,
    SignalSource,
    SignalStatus,
)
from reviews.monitoring.reports import checkpoint_report_submit
from reviews.monitoring.signals import safety_signal_status_set
from tests.factories import UserFactory, make_application

pytestmark = pytest.mark.django_db

S = ApplicationState
RESOLUTION = {
    "findings": "A scanner setting changed at site B in week two.",
    "actions": "Setting restored; the affected cases were re-read and met the threshold.",
}


def _signal(application, severity=SignalSeverity.HIGH, title="Sensitivity dipped at site B"):
    return SafetySignal.objects.create(
        application=application,
        severity=severity,
        source=SignalSource.REVIEWER,
        title=title,
        description="Seen in the checkpoint 2 figures.",
    )


def _assessed(application, assessor) -> None:
    EvidenceAssessment.objects.bulk_create(
        EvidenceAssessment(
            application=application,
            principle=principle,
            rating=GmlpRating.MET,
            comment="Shown by the evidence.",
            assessor=assessor,
        )
        for principle in GmlpPrinciple
    )


@pytest.fixture
def under_review(reviewer):
    """In evidence review, every GMLP principle assessed, no clearance proposed yet."""
    application = make_application(S.EVIDENCE_REVIEW, assignee=reviewer)
    application.decisions.all().delete()
    _assessed(application, reviewer)
    return application


# --- No clearance over an open signal -----------------------------------------------------


@pytest.mark.parametrize("status", [SignalStatus.OPEN, SignalStatus.INVESTIGATING])
def test_proposing_clearance_is_refused_naming_the_open_signals(under_review, reviewer, status):
    first = _signal(under_review, SignalSeverity.CRITICAL, "Missed nodules in the over-65s")
    second = _signal(under_review, SignalSeverity.MEDIUM, "Override rate rising")
    SafetySignal.objects.filter(pk__in=[first.pk, second.pk]).update(status=status)

    with pytest.raises(TransitionRefused) as refused:
        decision_record(
            application_id=under_review.pk, actor=reviewer, kind="clear", rationale="All met."
        )

    # Every open signal named, oldest first, and how many there are.
    assert str(refused.value) == (
        "A device cannot be cleared while safety signals are open: close all 2 with a written "
        "resolution first. Open: “Missed nodules in the over-65s” (critical); "
        "“Override rate rising” (medium)."
    )
    assert not Decision.objects.filter(application=under_review).exists()


def test_a_closed_signal_does_not_block_clearance(under_review, reviewer):
    signal = _signal(under_review)
    safety_signal_status_set(actor=reviewer, signal_id=signal.pk, status="closed", **RESOLUTION)

    decision = decision_record(
        application_id=under_review.pk, actor=reviewer, kind="clear", rationale="All met."
    )

    assert decision.kind == DecisionKind.CLEAR


def test_countersigning_is_refused_while_a_signal_raised_after_the_proposal_is_open(
    lead_reviewer,
):
    # The factory's case has a clearance proposed already; a signal arrives afterwards.
    application = make_application(S.EVIDENCE_REVIEW)
    _signal(application, title="Late incident report")

    with pytest.raises(TransitionRefused, match="“Late incident report”"):
        clearance_countersign(application_id=application.pk, actor=lead_reviewer)
    with pytest.raises(TransitionRefused) as refused:
        application_transition(application_id=application.pk, action="clear", actor=lead_reviewer)

    assert str(refused.value) == (
        "A device cannot be cleared while a safety signal is open: close it with a written "
        "resolution first. Open: “Late incident report” (high)."
    )
    application.refresh_from_db()
    assert application.state == S.EVIDENCE_REVIEW
    assert application.pending_clearance().countersigned_by is None


def test_the_admin_obeys_the_rule_too(client, admin_user):
    application = make_application(S.EVIDENCE_REVIEW)
    _signal(application, title="Open in the admin")
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:devices_application_transition", args=[application.pk, "clear"]),
        {"reason": ""},
        follow=True,
    )

    assert "“Open in the admin”" in response.content.decode()
    application.refresh_from_db()
    assert application.state == S.EVIDENCE_REVIEW


def test_not_clearing_and_withdrawing_stay_possible_with_a_signal_open(
    reviewer, manufacturer, organisation
):
    not_cleared = make_application(S.EVIDENCE_REVIEW, organisation=organisation)
    withdrawn = make_application(S.EVIDENCE_REVIEW, organisation=organisation)
    for application in (not_cleared, withdrawn):
        _signal(application)

    decision_record(
        application_id=not_cleared.pk, actor=reviewer, kind="not_clear", rationale="Unsafe."
    )
    application_transition(
        application_id=withdrawn.pk, action="withdraw", actor=manufacturer, reason="Pausing."
    )

    not_cleared.refresh_from_db()
    withdrawn.refresh_from_db()
    assert (not_cleared.state, withdrawn.state) == (S.NOT_CLEARED, S.WITHDRAWN)


def test_the_decision_page_says_clearance_is_blocked_and_refuses_it(client, reviewer, under_review):
    _signal(under_review, title="Drift at site B")
    client.force_login(reviewer)

    page = client.get(reverse("reviews:decision", args=[under_review.pk])).content.decode()
    response = client.post(
        reverse("reviews:decision", args=[under_review.pk]),
        {"kind": "clear", "rationale": "All met.", "expected_state": S.EVIDENCE_REVIEW},
    )

    assert "Clearance cannot be proposed now." in page
    assert "“Drift at site B”" in page
    assert response.status_code == 200
    assert "“Drift at site B”" in str(response.context["form"].errors["kind"])
    assert not Decision.objects.filter(application=under_review).exists()


# --- Closing a signal needs a written resolution -----------------------------------------


@pytest.mark.parametrize(
    ("findings", "actions", "missing"),
    [
        ("", "", {"findings", "actions"}),
        ("Found it.", "  ", {"actions"}),
        ("", "Fixed.", {"findings"}),
    ],
)
def test_closing_a_signal_needs_what_was_found_and_what_was_done(
    reviewer, under_review, findings, actions, missing
):
    signal = _signal(under_review)

    with pytest.raises(ValidationError) as refused:
        safety_signal_status_set(
            actor=reviewer, signal_id=signal.pk, status="closed", findings=findings, actions=actions
        )

    assert set(refused.value.message_dict) == missing
    signal.refresh_from_db()
    assert signal.status == SignalStatus.OPEN
    assert not AuditEntry.objects.exists()


def test_closing_and_reopening_are_audited_and_reopening_blocks_clearance_again(
    reviewer, lead_reviewer, under_review
):
    signal = _signal(under_review)

    safety_signal_status_set(actor=reviewer, signal_id=signal.pk, status="investigating")
    safety_signal_status_set(actor=reviewer, signal_id=signal.pk, status="closed", **RESOLUTION)
    signal.refresh_from_db()
    assert (signal.closed_by, signal.resolution_findings) == (reviewer, RESOLUTION["findings"])
    safety_signal_status_set(actor=lead_reviewer, signal_id=signal.pk, status="open")

    signal.refresh_from_db()
    assert (signal.status, signal.closed_at, signal.resolution_actions) == ("open", None, "")
    trail = list(AuditEntry.objects.filter(signal=signal).values_list("actor", "action"))
    assert trail == [
        (reviewer.pk, AuditAction.SIGNAL_STATUS),
        (reviewer.pk, AuditAction.SIGNAL_CLOSED),
        (lead_reviewer.pk, AuditAction.SIGNAL_REOPENED),
    ]
    closing = AuditEntry.objects.get(action=AuditAction.SIGNAL_CLOSED)
    assert RESOLUTION["findings"] in closing.detail
    assert RESOLUTION["actions"] in closing.detail
    with pytest.raises(TransitionRefused, match="safety signal is open"):
        decision_record(
            application_id=under_review.pk, actor=reviewer, kind="clear", rationale="All met."
        )


def test_the_audit_trail_cannot_be_edited(reviewer, under_review):
    signal = _signal(under_review)
    safety_signal_status_set(actor=reviewer, signal_id=signal.pk, status="closed", **RESOLUTION)
    entry = AuditEntry.objects.get()

    with pytest.raises(PermissionError):
        AuditEntry.objects.update(summary="Nothing happened.")
    with pytest.raises(PermissionError):
        entry.delete()
    entry.summary = "Nothing happened."
    with pytest.raises(PermissionError):
        entry.save()


def test_a_manufacturer_cannot_close_a_signal(manufacturer, organisation):
    application = make_application(S.EVIDENCE_REVIEW, organisation=organisation)
    signal = _signal(application)

    with pytest.raises(PermissionError):
        safety_signal_status_set(
            actor=manufacturer, signal_id=signal.pk, status="closed", **RESOLUTION
        )


# --- What the decision is taken in sight of -------------------------------------------------


@pytest.fixture
def eventful(organisation, manufacturer, reviewer):
    """A case with a history: a late and a missed checkpoint, a subgroup breach, an incident,
    one closed signal and one open."""
    application = make_application(S.EVIDENCE_REVIEW, organisation=organisation, assignee=reviewer)
    today = timezone.localdate()
    reported = Checkpoint.objects.create(
        application=application,
        sequence=1,
        due_on=today - timedelta(days=40),
        status=CheckpointStatus.SUBMITTED,
    )
    report = CheckpointReport.objects.create(
        checkpoint=reported,
        submitted_by=manufacturer,
        submitted_at=timezone.now() - timedelta(days=35),
        cases_processed=700,
        metrics={"sensitivity": 0.91},
        subgroup_metrics={"age 65+": {"sensitivity": 0.83}, "female": {"sensitivity": 0.94}},
        evaluated_at=timezone.now(),
    )
    Checkpoint.objects.create(
        application=application,
        sequence=2,
        due_on=today - timedelta(days=12),
        status=CheckpointStatus.OVERDUE,
        escalated_at=timezone.now(),
    )
    closed = SafetySignal.objects.create(
        application=application,
        checkpoint_report=report,
        metric="sensitivity",
        observed_value="0.83",
        severity=SignalSeverity.MEDIUM,
        source=SignalSource.CHECKPOINT_BREACH,
        title="Sensitivity breaches its threshold in a subgroup",
        description="Subgroups below the requirement: age 65+: 0.83",
    )
    safety_signal_status_set(actor=reviewer, signal_id=closed.pk, status="closed", **RESOLUTION)
    IncidentReport.objects.create(
        application=application,
        reported_by=manufacturer,
        severity=IncidentSeverity.OTHER_SERIOUS,
        occurred_on=today - timedelta(days=20),
        aware_on=today - timedelta(days=20),
        description="A report went to the wrong clinic.",
    )
    _signal(application, SignalSeverity.HIGH, "Wrong-clinic routing")
    return application


@pytest.mark.parametrize(
    ("name", "persona"),
    [
        ("reviews:decision", "reviewer"),
        ("reviews:countersign", "lead_reviewer"),
        ("reviews:exit-report", "reviewer"),
    ],
)
def test_the_decision_countersign_and_exit_report_pages_show_the_whole_safety_record(
    client, request, eventful, name, persona, django_assert_max_num_queries
):
    client.force_login(request.getfixturevalue(persona))
    url = reverse(name, args=[eventful.pk])
    client.get(url)

    with django_assert_max_num_queries(40):
        page = client.get(url).content.decode()

    for text in (
        "Safety signals (2)",
        "Sensitivity breaches its threshold in a subgroup",  # closed, with its resolution
        RESOLUTION["findings"],
        RESOLUTION["actions"],
        "Wrong-clinic routing",  # open
        "Not resolved yet",
        "Threshold breaches (1)",
        "age 65+",  # subgroup figures against the thresholds
        "0.83",
        "0.94",
        "Serious incidents (1)",
        "A report went to the wrong clinic.",
        "Checkpoints missed or reported late (2)",
        "missed, no report (escalated",
        "reported late",
    ):
        assert text in page, (name, text)


# --- Resuming after a suspension ------------------------------------------------------------


def test_resuming_needs_a_reason(reviewer):
    application = make_application(S.SUSPENDED)

    with pytest.raises(TransitionRefused, match="Give a reason"):
        application_transition(application_id=application.pk, action="resume", actor=reviewer)

    application.refresh_from_db()
    assert application.state == S.SUSPENDED


def test_after_a_suspension_a_critical_signal_caused_only_a_lead_reviewer_resumes(
    manufacturer, organisation, reviewer, lead_reviewer
):
    application = make_application(
        S.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )
    checkpoint = Checkpoint.objects.create(
        application=application, sequence=1, due_on=timezone.localdate()
    )
    # A critical breach suspends testing automatically (the plan says so).
    checkpoint_report_submit(
        actor=manufacturer,
        checkpoint_id=checkpoint.pk,
        cases_processed=500,
        metrics={"sensitivity": 0.7},
    )
    application.refresh_from_db()
    signal = SafetySignal.objects.get(application=application)
    assert (application.state, application.suspended_for) == (S.SUSPENDED, signal)

    with pytest.raises(TransitionRefused) as refused:
        application_transition(
            application_id=application.pk, action="resume", actor=reviewer, reason="Fixed."
        )
    application_transition(
        application_id=application.pk, action="resume", actor=lead_reviewer, reason="Fixed."
    )

    assert f"the critical safety signal “{signal.title}”" in str(refused.value)
    assert "only a lead reviewer can resume it" in str(refused.value)
    application.refresh_from_db()
    assert (application.state, application.suspended_for) == (S.IN_CONTROLLED_TESTING, None)


def test_a_suspension_with_no_critical_signal_open_any_reviewer_resumes(reviewer):
    application = make_application(S.IN_CONTROLLED_TESTING)
    _signal(application, SignalSeverity.HIGH)
    application_transition(
        application_id=application.pk, action="suspend", actor=reviewer, reason="Site audit."
    )

    application_transition(
        application_id=application.pk, action="resume", actor=reviewer, reason="Audit passed."
    )

    application.refresh_from_db()
    assert application.state == S.IN_CONTROLLED_TESTING


def test_the_case_page_says_why_an_ordinary_reviewer_cannot_resume(client, reviewer):
    application = make_application(S.IN_CONTROLLED_TESTING)
    _signal(application, SignalSeverity.CRITICAL, "Missed pneumothorax")
    lead = UserFactory(role=Role.LEAD_REVIEWER)
    application_transition(
        application_id=application.pk, action="suspend", actor=lead, reason="Critical signal."
    )
    client.force_login(reviewer)

    page = client.get(reverse("reviews:application", args=[application.pk])).content.decode()

    assert "Resume testing" in page
    assert "“Missed pneumothorax” was open: only a lead reviewer can resume it." in page


# --- Completing testing early ---------------------------------------------------------------


def test_completing_testing_early_needs_a_reason_and_a_confirmation_naming_why(reviewer):
    application = make_application(S.IN_CONTROLLED_TESTING)
    Checkpoint.objects.create(application=application, sequence=1, due_on=timezone.localdate())

    for reason, confirmed in [("", False), ("Enough cases.", False), ("", True)]:
        with pytest.raises(TransitionRefused) as refused:
            application_transition(
                application_id=application.pk,
                action="complete_testing",
                actor=reviewer,
                reason=reason,
                confirmed=confirmed,
            )
        assert "needs a reason and your confirmation" in str(refused.value)
        assert "The agreed plan runs until" in str(refused.value)
        assert "1 checkpoint has no report (1)." in str(refused.value)

    application_transition(
        application_id=application.pk,
        action="complete_testing",
        actor=reviewer,
        reason="Enough cases.",
        confirmed=True,
    )
    application.refresh_from_db()
    assert application.state == S.EVIDENCE_REVIEW


def test_the_early_warnings_name_the_days_left_and_each_unreported_checkpoint(organisation):
    application = make_application(S.IN_CONTROLLED_TESTING, organisation=organisation)
    today = timezone.localdate()
    plan = application.testing_plan
    plan.ends_on = today + timedelta(days=3)
    plan.save()
    # Numbers unlike the rows' ids; a submitted report is not a shortfall, an overdue one is.
    for sequence, status in [(7, "submitted"), (8, "overdue"), (9, "scheduled")]:
        Checkpoint.objects.create(
            application=application, sequence=sequence, due_on=today, status=status
        )

    assert application.testing_shortfalls() == [
        f"The agreed plan runs until {plan.ends_on:%-d %B %Y}: 3 days early.",
        "2 checkpoints have no report (8, 9).",
    ]
    Checkpoint.objects.filter(application=application, sequence=9).delete()
    assert application.testing_shortfalls()[1:] == ["1 checkpoint has no report (8)."]


def test_a_case_without_a_plan_or_unreported_checkpoints_has_no_early_warnings(organisation):
    application = make_application(S.IN_CONTROLLED_TESTING, organisation=organisation)
    application.testing_plan.delete()

    assert type(application).objects.get(pk=application.pk).testing_shortfalls() == []


def test_completing_testing_that_ran_its_course_needs_neither(reviewer):
    application = make_application(S.IN_CONTROLLED_TESTING)
    plan = application.testing_plan
    plan.starts_on = timezone.localdate() - timedelta(days=60)
    plan.ends_on = timezone.localdate()
    plan.save()

    application_transition(application_id=application.pk, action="complete_testing", actor=reviewer)

    application.refresh_from_db()
    assert application.state == S.EVIDENCE_REVIEW


def test_the_complete_testing_page_asks_for_the_reason_and_the_confirmation(client, reviewer):
    application = make_application(S.IN_CONTROLLED_TESTING)
    client.force_login(reviewer)
    url = reverse("reviews:complete-testing", args=[application.pk])

    page = client.get(url).content.decode()
    refused = client.post(url, {"reason": "", "expected_state": S.IN_CONTROLLED_TESTING})
    done = client.post(
        url,
        {"reason": "Enough cases.", "confirm": "on", "expected_state": S.IN_CONTROLLED_TESTING},
    )

    assert "What will happen" in page
    assert "Testing would end early" in page
    assert "The agreed plan runs until" in page
    assert set(refused.context["form"].errors) == {"reason", "confirm"}
    assert "<title>Error: " in refused.content.decode()
    assert done.status_code == 302
    application.refresh_from_db()
    assert application.state == S.EVIDENCE_REVIEW


@pytest.mark.parametrize(
    ("name", "persona", "state"),
    [
        ("reviews:complete-testing", "reviewer", S.IN_CONTROLLED_TESTING),
        ("devices:application-submit", "manufacturer", S.DRAFT),
        ("devices:exit-report", "manufacturer", S.NOT_CLEARED),
    ],
)
def test_the_confirmation_and_report_pages_keep_their_query_counts_bounded(
    client,
    request,
    organisation,
    manufacturer,
    name,
    persona,
    state,
    django_assert_max_num_queries,
):
    application = make_application(state, organisation=organisation, created_by=manufacturer)
    client.force_login(request.getfixturevalue(persona))
    url = reverse(name, args=[application.pk])
    client.get(url)
    with django_assert_max_num_queries(35) as few:
        assert client.get(url).status_code == 200
    for sequence in range(1, 6):
        Checkpoint.objects.create(
            application=application,
            sequence=sequence,
            due_on=timezone.localdate() - timedelta(days=7 * sequence),
            status=CheckpointStatus.OVERDUE,
        )
        _signal(application, title=f"Signal {sequence}")

    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200
