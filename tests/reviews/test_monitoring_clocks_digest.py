from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from airlock.roles import Role
from devices.models import Application, ApplicationState, ClockStage
from reviews.models import (
    Checkpoint,
    CheckpointStatus,
    ClockNotice,
    ClockNoticeKind,
    ConflictOfInterest,
    DigestReceipt,
    IncomingAlert,
    PartnerRegulator,
    SafetySignal,
    SignalSeverity,
    SignalSource,
)
from reviews.monitoring import clocks, digest
from tests.factories import OrganisationFactory, UserFactory, make_application

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
WEDNESDAY = datetime(2026, 7, 1, 6, 15, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(WEDNESDAY, tick=False):
        yield


def with_clock(application, due_on, *, paused_on=None, stage=ClockStage.SCREENING):
    Application.objects.filter(pk=application.pk).update(
        clock_stage=stage, clock_due_on=due_on, clock_paused_on=paused_on
    )
    application.refresh_from_db()
    return application


@pytest.fixture
def screening(reviewer):
    return make_application(ApplicationState.SCREENING, assignee=reviewer)


# --- Review clocks ---------------------------------------------------------------------------


def test_it_warns_the_assignee_five_working_days_ahead_once(screening, reviewer):
    with_clock(screening, date(2026, 7, 8))

    assert clocks.review_clocks_sweep() == 1
    assert clocks.review_clocks_sweep() == 0

    notice = ClockNotice.objects.get()
    assert (notice.kind, notice.stage, notice.due_on) == (
        ClockNoticeKind.WARNING,
        ClockStage.SCREENING,
        date(2026, 7, 8),
    )
    [email] = mail.outbox
    assert email.to == [reviewer.email]
    assert email.subject == f"{screening.reference}: screening decision clock due 8 July"
    assert "runs out on Wednesday 8 July 2026" in email.body
    assert "State: Screening" in email.body
    assert reverse("reviews:application", args=[screening.pk]) in email.body


def test_it_flags_a_breach_once(screening, reviewer):
    with_clock(screening, date(2026, 6, 30))

    assert clocks.review_clocks_sweep() == 1
    assert clocks.review_clocks_sweep() == 0

    assert ClockNotice.objects.get().kind == ClockNoticeKind.BREACH
    [email] = mail.outbox
    assert email.subject == f"{screening.reference}: screening decision clock breached"
    assert "ran out on 30 June 2026" in email.body
    assert "ran out on 30 June 2026" in email.alternatives[0][0]


def test_a_warned_clock_is_flagged_again_when_it_breaches(screening):
    with_clock(screening, date(2026, 7, 2))
    clocks.review_clocks_sweep()

    with time_machine.travel(WEDNESDAY + timedelta(days=2), tick=False):
        assert clocks.review_clocks_sweep() == 1

    assert sorted(ClockNotice.objects.values_list("kind", flat=True)) == ["breach", "warning"]


def test_a_clock_given_a_new_due_date_is_warned_about_again(screening):
    with_clock(screening, date(2026, 7, 2))
    clocks.review_clocks_sweep()
    with_clock(screening, date(2026, 7, 7))

    assert clocks.review_clocks_sweep() == 1


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param({"due_on": date(2026, 7, 20)}, id="far off"),
        pytest.param({"due_on": date(2026, 6, 1), "paused_on": date(2026, 5, 20)}, id="paused"),
    ],
)
def test_it_leaves_clocks_that_need_no_notice(screening, setup):
    with_clock(screening, **setup)

    assert clocks.review_clocks_sweep() == 0
    assert mail.outbox == []


def test_a_final_case_has_no_clock_notices(reviewer):
    application = make_application(ApplicationState.REJECTED, assignee=reviewer)
    with_clock(application, date(2026, 6, 1))

    assert clocks.review_clocks_sweep() == 0


def test_an_unassigned_clock_goes_to_the_lead_reviewers(lead_reviewer):
    application = with_clock(make_application(ApplicationState.SUBMITTED), date(2026, 6, 30))

    clocks.review_clocks_sweep()

    [email] = mail.outbox
    assert email.to == [lead_reviewer.email]
    assert "Assigned to: nobody yet" in email.body
    assert application.reference in email.subject


# --- Weekly digest ---------------------------------------------------------------------------


@pytest.fixture
def busy_week(reviewer, organisation):
    breached = with_clock(
        make_application(ApplicationState.SCREENING, assignee=reviewer, organisation=organisation),
        date(2026, 6, 29),
    )
    testing = make_application(
        ApplicationState.IN_CONTROLLED_TESTING, assignee=reviewer, organisation=organisation
    )
    Checkpoint.objects.create(
        application=testing, sequence=1, due_on=date(2026, 6, 25), status=CheckpointStatus.OVERDUE
    )
    SafetySignal.objects.create(
        application=testing,
        severity=SignalSeverity.HIGH,
        source=SignalSource.REVIEWER,
        title="Override rate climbing",
        description="Clinicians override 30% of outputs.",
    )
    partner = PartnerRegulator.objects.create(name="Health Canada", country="Canada")
    IncomingAlert.objects.create(
        partner=partner,
        external_id="HC-1",
        title="Scanner upgrade drift",
        severity=SignalSeverity.MEDIUM,
        summary="Specificity fell.",
        payload={},
    )
    return breached, testing


def test_the_digest_tells_each_reviewer_their_week(busy_week, reviewer, manufacturer):
    breached, testing = busy_week

    digest.reviewer_digest_send()

    [email] = [m for m in mail.outbox if m.to == [reviewer.email]]
    assert email.subject == "Your Airlock week: 1 clock breached, 1 open safety signal"
    body = email.body
    assert "Week of 29 June 2026 — hello Rachel," in body
    assert "- Screening: 1" in body
    assert "- In controlled testing: 1" in body
    assert f"- {breached.reference}" in body
    assert "due 29 June 2026" in body
    assert f"- {testing.reference} checkpoint 1, due 25 June 2026" in body
    assert "- [High] Override rate climbing" in body
    assert "- [Medium] Health Canada: Scanner upgrade drift" in body
    assert f"http://127.0.0.1:8000{reverse('reviews:dashboard')}" in body
    assert "Override rate climbing" in email.alternatives[0][0]


def test_the_digest_goes_once_a_week(busy_week, reviewer):
    first = digest.reviewer_digest_send()

    assert digest.reviewer_digest_send() == 0
    with time_machine.travel(WEDNESDAY + timedelta(days=2), tick=False):
        assert digest.reviewer_digest_send() == 0
    with time_machine.travel(WEDNESDAY + timedelta(days=5), tick=False):
        assert digest.reviewer_digest_send() == first

    receipts = DigestReceipt.objects.filter(recipient=reviewer)
    assert list(receipts.values_list("week_starting", flat=True)) == [
        date(2026, 7, 6),
        date(2026, 6, 29),
    ]


def test_the_digest_hides_cases_a_reviewer_is_conflicted_with(busy_week, organisation):
    conflicted = UserFactory(role=Role.REVIEWER, email="conflicted@example.test")
    ConflictOfInterest.objects.create(reviewer=conflicted, organisation=organisation, reason="x")
    elsewhere = make_application(
        ApplicationState.IN_CONTROLLED_TESTING, organisation=OrganisationFactory(name="Elsewhere")
    )
    SafetySignal.objects.create(
        application=elsewhere,
        severity=SignalSeverity.LOW,
        source=SignalSource.REVIEWER,
        title="Minor drift elsewhere",
        description="-",
    )

    digest.reviewer_digest_send()

    [email] = [m for m in mail.outbox if m.to == [conflicted.email]]
    assert "Minor drift elsewhere" in email.body
    assert "Override rate climbing" not in email.body


def test_inactive_reviewers_and_manufacturers_get_no_digest(manufacturer):
    UserFactory(role=Role.REVIEWER, is_active=False)

    assert digest.reviewer_digest_send() == 0
