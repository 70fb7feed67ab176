"""Safety before decisions: no clearance over an open safety signal, signals closed only with a
written resolution, and the safety record a decision is taken in sight of
(test_suspension_and_early_completion.py has resuming and completing testing).

Each rule is checked at the service, which the site, the admin, the API and the scheduled jobs
all call, so none of them can step round it.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

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
from reviews.monitoring.signals import safety_signal_status_set
from tests.factories import make_application
from tests.reviews.safety_signals import open_signal

pytestmark = pytest.mark.django_db

S = ApplicationState
RESOLUTION = {
    "findings": "A scanner setting changed at site B in week two.",
    "actions": "Setting restored; the affected cases were re-read and met the threshold.",
}


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
    first = open_signal(under_review, SignalSeverity.CRITICAL, "Missed nodules in the over-65s")
    second = open_signal(under_review, SignalSeverity.MEDIUM, "Override rate rising")
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
    signal = open_signal(under_review)
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
    open_signal(application, title="Late incident report")

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
    open_signal(application, title="Open in the admin")
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
        open_signal(application)

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
    open_signal(under_review, title="Drift at site B")
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
    signal = open_signal(under_review)

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
    signal = open_signal(under_review)

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
    signal = open_signal(under_review)
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
    signal = open_signal(application)

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
    open_signal(application, SignalSeverity.HIGH, "Wrong-clinic routing")
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
