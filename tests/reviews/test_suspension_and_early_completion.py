"""After a suspension and before testing's end: resuming only with a reason (and only by a lead
reviewer after a critical signal), completing testing early only with a reason and a
confirmation naming why. Each rule is checked at the service and on its page
(test_safety_before_decisions.py has the signals and the decisions)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from airlock.roles import Role
from devices.models import ApplicationState
from devices.services import TransitionRefused, application_transition
from reviews.models import (
    Checkpoint,
    CheckpointStatus,
    SafetySignal,
    SignalSeverity,
    SignalStatus,
)
from reviews.monitoring.reports import checkpoint_report_submit
from tests.factories import UserFactory, make_application
from tests.reviews.safety_signals import open_signal

pytestmark = pytest.mark.django_db

S = ApplicationState


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
    open_signal(application, SignalSeverity.HIGH)
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
    open_signal(application, SignalSeverity.CRITICAL, "Missed pneumothorax")
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
        open_signal(application, title=f"Signal {sequence}")

    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


def test_the_signal_that_holds_resuming_is_this_case_s_latest_open_critical_one():
    # Resuming waits for a lead reviewer only because of this case's own open critical signal:
    # not another case's, not a high one, not one closed; and of two, the later raised (an id
    # order unlike the raising order shows the sort is by time).
    case = make_application(S.SUSPENDED)
    other = make_application(S.SUSPENDED)
    now = timezone.now()
    open_signal(other, severity=SignalSeverity.CRITICAL, title="Another case's signal")
    high = open_signal(case, severity=SignalSeverity.HIGH, title="Only high")
    SafetySignal.objects.filter(pk=high.pk).update(raised_at=now - timedelta(hours=2))
    closed = open_signal(case, severity=SignalSeverity.CRITICAL, title="Closed")
    SafetySignal.objects.filter(pk=closed.pk).update(status=SignalStatus.CLOSED)
    assert case.latest_open_critical_signal() is None

    later = open_signal(case, severity=SignalSeverity.CRITICAL, title="Raised later")
    earlier = open_signal(case, severity=SignalSeverity.CRITICAL, title="Raised earlier")
    SafetySignal.objects.filter(pk=later.pk).update(raised_at=now)
    SafetySignal.objects.filter(pk=earlier.pk).update(raised_at=now - timedelta(hours=1))
    assert case.latest_open_critical_signal() == later
    # Oldest first when the case lists them, whatever the ids say.
    assert [s.title for s in case.open_safety_signals()] == [
        "Only high",
        "Raised earlier",
        "Raised later",
    ]
