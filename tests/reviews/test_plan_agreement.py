"""A testing plan is agreed by both sides; a change to an agreed plan is a numbered amendment
that takes effect only when the manufacturer agrees it too. Checked at the services (which the
pages, the admin and the scheduled jobs share) and on the pages."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from devices.models import ApplicationState, CheckpointReport
from devices.services import TransitionRefused, application_transition
from notifications.models import Notification, NotificationKind
from reviews.models import (
    AuditAction,
    AuditEntry,
    Checkpoint,
    CheckpointStatus,
    MetricThreshold,
    PlanVersion,
    SafetySignal,
)
from reviews.models import TestingPlan as Plan  # not "Test…": pytest would try to collect it
from reviews.monitoring.checkpoints import checkpoints_sweep
from reviews.monitoring.reports import checkpoint_report_submit
from reviews.plan_terms import PlanDetails, ThresholdSpec
from reviews.plans import (
    plan_version_agree,
    plan_version_return,
    plan_version_save,
    plan_version_send,
    plan_version_withdraw,
)
from tests.factories import make_application, make_manufacturer

pytestmark = pytest.mark.django_db

S = ApplicationState
SENSITIVITY = ThresholdSpec("sensitivity", "gte", Decimal("0.9"), Decimal("0.8"))


def _details(**changes) -> PlanDetails:
    today = timezone.localdate()
    terms = {
        "environment": "virtual",
        "starts_on": today + timedelta(days=7),
        "ends_on": today + timedelta(days=187),
        "cadence_days": 28,
        "thresholds": [SENSITIVITY],
    }
    return PlanDetails(**{**terms, **changes})


def _in_force_details(plan, **changes) -> PlanDetails:
    """The plan in force as details, with `changes`: the start of an amendment."""
    terms = {
        "environment": plan.environment,
        "starts_on": plan.starts_on,
        "ends_on": plan.ends_on,
        "cadence_days": plan.cadence_days,
        "nhs_sites": plan.nhs_sites,
        "suspend_on_critical_breach": plan.suspend_on_critical_breach,
        "notes": plan.notes,
        "thresholds": [
            ThresholdSpec(t.metric, t.comparator, t.value, t.critical_value)
            for t in plan.thresholds.all()
        ],
    }
    return PlanDetails(**{**terms, **changes})


@pytest.fixture
def accepted(organisation, reviewer):
    """Accepted, assigned, with no plan yet."""
    application = make_application(S.ACCEPTED, organisation=organisation, assignee=reviewer)
    application.testing_plan.delete()
    application.plan_versions.all().delete()
    application.refresh_from_db()
    return application


def _agree(application, actor, version):
    return plan_version_agree(
        application_id=application.pk,
        actor=actor,
        number=version.number,
        revision=version.revision,
    )


# --- The first plan ---------------------------------------------------------------------------


def test_a_plan_takes_effect_only_when_the_manufacturer_agrees_it(accepted, reviewer, manufacturer):
    version = plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details())
    with pytest.raises(TransitionRefused) as refused:
        application_transition(application_id=accepted.pk, action="begin_testing", actor=reviewer)
    assert str(refused.value) == (
        "Agree a testing plan with the manufacturer first: draft it with its metric "
        "thresholds, send it, and testing can begin once they agree it."
    )

    plan_version_send(application_id=accepted.pk, actor=reviewer)
    assert not Plan.objects.filter(application=accepted).exists()
    # Sent late on 1 June (UTC), which is already 2 June in London: the refusal names the day
    # it was sent, in London's calendar, not the day it is read.
    PlanVersion.objects.filter(pk=version.pk).update(
        reviewer_agreed_at=datetime(2026, 6, 1, 23, 30, tzinfo=UTC)
    )
    with pytest.raises(TransitionRefused) as refused:
        application_transition(application_id=accepted.pk, action="begin_testing", actor=reviewer)
    assert str(refused.value) == (
        "The manufacturer has not agreed the testing plan yet (sent to them on 2 June 2026): "
        "testing begins once both sides agree it."
    )

    _agree(accepted, manufacturer, version)
    application_transition(application_id=accepted.pk, action="begin_testing", actor=reviewer)

    plan = Plan.objects.get(application=accepted)
    assert (plan.version, plan.agreed_by, plan.starts_on) == (1, manufacturer, _details().starts_on)
    assert [t.metric for t in plan.thresholds.all()] == ["sensitivity"]
    version.refresh_from_db()
    assert (version.reviewer_agreed_by, version.manufacturer_agreed_by) == (reviewer, manufacturer)
    assert version.reviewer_agreed_at <= version.manufacturer_agreed_at
    trail = list(AuditEntry.objects.filter(plan_version=version).values_list("actor", "action"))
    assert trail == [
        (reviewer.pk, AuditAction.PLAN_DRAFTED),
        (reviewer.pk, AuditAction.PLAN_SENT),
        (manufacturer.pk, AuditAction.PLAN_AGREED),
    ]


def test_each_side_is_told_when_the_other_acts(accepted, reviewer, manufacturer, organisation):
    colleague = make_manufacturer(organisation, email="colleague@example.test")
    version = plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details())
    plan_version_send(application_id=accepted.pk, actor=reviewer)

    sent = Notification.objects.filter(kind=NotificationKind.PLAN_FOR_AGREEMENT)
    assert sorted(sent.values_list("recipient", flat=True)) == sorted(
        [manufacturer.pk, colleague.pk]
    )
    assert sent.first().url == reverse("devices:testing-plan", args=[accepted.pk])

    _agree(accepted, manufacturer, version)

    agreed = Notification.objects.get(kind=NotificationKind.PLAN_AGREED)
    assert agreed.recipient == reviewer
    assert agreed.title == f"{accepted.reference}: the testing plan agreed by the manufacturer"


def test_the_manufacturer_returns_a_plan_with_comments_and_the_reviewer_revises_it(
    accepted, reviewer, manufacturer
):
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details())
    version = plan_version_send(application_id=accepted.pk, actor=reviewer)

    plan_version_return(
        application_id=accepted.pk,
        actor=manufacturer,
        number=version.number,
        revision=version.revision,
        comments="Our sites cannot start before the new year.",
    )

    version.refresh_from_db()
    assert version.reviewer_agreed_at is None  # back with the regulator
    assert version.return_comments == "Our sites cannot start before the new year."
    returned = AuditEntry.objects.get(action=AuditAction.PLAN_RETURNED)
    assert (returned.actor, returned.detail) == (manufacturer, version.return_comments)
    assert Notification.objects.get(kind=NotificationKind.PLAN_RETURNED).recipient == reviewer
    revised = plan_version_save(
        application_id=accepted.pk,
        actor=reviewer,
        details=_details(starts_on=timezone.localdate() + timedelta(days=40)),
    )
    assert (revised.number, revised.revision) == (1, 2)
    resent = plan_version_send(application_id=accepted.pk, actor=reviewer)
    _agree(accepted, manufacturer, resent)
    assert Plan.objects.get(application=accepted).starts_on == revised.starts_on


def test_returning_needs_comments(accepted, reviewer, manufacturer):
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details())
    version = plan_version_send(application_id=accepted.pk, actor=reviewer)

    with pytest.raises(ValidationError, match="Say what should change"):
        plan_version_return(
            application_id=accepted.pk,
            actor=manufacturer,
            number=version.number,
            revision=version.revision,
            comments="   ",
        )


def test_an_agreement_given_to_terms_since_revised_is_refused(accepted, reviewer, manufacturer):
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details())
    seen = plan_version_send(application_id=accepted.pk, actor=reviewer)
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details(cadence_days=7))
    plan_version_send(application_id=accepted.pk, actor=reviewer)

    with pytest.raises(TransitionRefused, match="changed the testing plan while you were reading"):
        _agree(accepted, manufacturer, seen)

    assert not Plan.objects.filter(application=accepted).exists()


def test_nobody_else_agrees_for_the_manufacturer(accepted, reviewer, other_manufacturer):
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details())
    version = plan_version_send(application_id=accepted.pk, actor=reviewer)

    for outsider in (other_manufacturer, reviewer):
        with pytest.raises(PermissionError):
            _agree(accepted, outsider, version)
    assert not Plan.objects.filter(application=accepted).exists()


def test_a_manufacturer_cannot_agree_a_draft_the_regulator_has_not_sent(
    accepted, reviewer, manufacturer
):
    version = plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details())

    with pytest.raises(TransitionRefused):
        _agree(accepted, manufacturer, version)


# --- Amendments ---------------------------------------------------------------------------


@pytest.fixture
def testing(organisation, reviewer):
    """In controlled testing since 60 days ago: checkpoints every 28 days, two scheduled."""
    application = make_application(
        S.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )
    today = timezone.localdate()
    Plan.objects.filter(application=application).update(
        starts_on=today - timedelta(days=60), ends_on=today + timedelta(days=120)
    )
    application.plan_versions.update(
        starts_on=today - timedelta(days=60), ends_on=today + timedelta(days=120)
    )
    return application


def test_an_amendment_changes_nothing_until_the_manufacturer_agrees_it(
    testing, reviewer, manufacturer
):
    plan = testing.testing_plan
    tighter = ThresholdSpec("sensitivity", "gte", Decimal("0.95"), Decimal("0.85"))
    amendment = plan_version_save(
        application_id=testing.pk,
        actor=reviewer,
        details=_in_force_details(plan, thresholds=[tighter]),
    )
    plan_version_send(application_id=testing.pk, actor=reviewer)

    # Not agreed yet: reports are still checked against the plan in force.
    assert amendment.number == 2
    assert MetricThreshold.objects.get(plan=plan).value == Decimal("0.9")
    first = Checkpoint.objects.create(application=testing, sequence=1, due_on=plan.starts_on)
    checkpoint_report_submit(
        actor=manufacturer,
        checkpoint_id=first.pk,
        cases_processed=90,
        metrics={"sensitivity": 0.92},
    )
    assert not SafetySignal.objects.exists()

    amendment.refresh_from_db()
    _agree(testing, manufacturer, amendment)

    plan.refresh_from_db()
    assert plan.version == 2
    assert MetricThreshold.objects.get(plan=plan).value == Decimal("0.95")
    second = Checkpoint.objects.create(application=testing, sequence=2, due_on=plan.starts_on)
    checkpoint_report_submit(
        actor=manufacturer,
        checkpoint_id=second.pk,
        cases_processed=90,
        metrics={"sensitivity": 0.92},
    )
    assert SafetySignal.objects.get().checkpoint_report.checkpoint == second


def test_an_agreed_change_of_cadence_schedules_on_from_the_last_checkpoint(
    testing, reviewer, manufacturer
):
    today = timezone.localdate()
    checkpoints_sweep()
    scheduled = list(testing.checkpoints.order_by("sequence").values_list("sequence", "due_on"))
    assert scheduled == [
        (1, today - timedelta(days=32)),
        (2, today - timedelta(days=4)),
    ]
    amendment = plan_version_save(
        application_id=testing.pk,
        actor=reviewer,
        details=_in_force_details(testing.testing_plan, cadence_days=7),
    )
    plan_version_send(application_id=testing.pk, actor=reviewer)
    amendment.refresh_from_db()
    _agree(testing, manufacturer, amendment)

    checkpoints_sweep()

    # Weekly from checkpoint 2, up to the 14-day horizon: none falls due in the past.
    later = list(
        testing.checkpoints.filter(sequence__gt=2)
        .order_by("sequence")
        .values_list("sequence", "due_on", "status")
    )
    assert later == [
        (3, today + timedelta(days=3), CheckpointStatus.SCHEDULED),
        (4, today + timedelta(days=10), CheckpointStatus.SCHEDULED),
    ]


def test_an_agreed_earlier_end_drops_the_checkpoints_scheduled_past_it(
    testing, reviewer, manufacturer
):
    today = timezone.localdate()
    Checkpoint.objects.create(application=testing, sequence=1, due_on=today + timedelta(days=10))
    reported = Checkpoint.objects.create(
        application=testing, sequence=2, due_on=today + timedelta(days=12)
    )
    CheckpointReport.objects.create(
        checkpoint=reported, submitted_by=manufacturer, cases_processed=1, metrics={}
    )
    amendment = plan_version_save(
        application_id=testing.pk,
        actor=reviewer,
        details=_in_force_details(testing.testing_plan, ends_on=today + timedelta(days=5)),
    )
    plan_version_send(application_id=testing.pk, actor=reviewer)
    amendment.refresh_from_db()

    _agree(testing, manufacturer, amendment)

    # The unreported one past the new end goes; a reported one is kept whatever its date.
    assert list(testing.checkpoints.values_list("sequence", flat=True)) == [2]


def test_an_amendment_that_changes_nothing_is_refused(testing, reviewer):
    with pytest.raises(TransitionRefused, match="That is the plan in force already"):
        plan_version_save(
            application_id=testing.pk,
            actor=reviewer,
            details=_in_force_details(testing.testing_plan),
        )


def test_a_reviewer_withdraws_an_amendment_and_the_plan_in_force_stays(testing, reviewer):
    plan_version_save(
        application_id=testing.pk,
        actor=reviewer,
        details=_in_force_details(testing.testing_plan, cadence_days=14),
    )

    version = plan_version_withdraw(
        application_id=testing.pk, actor=reviewer, reason="The sites prefer monthly."
    )

    assert version.withdrawn_by == reviewer
    assert testing.testing_plan.cadence_days == 28
    assert PlanVersion.objects.filter(application=testing).open().count() == 0


def test_the_plan_pages_show_every_version(client, testing, reviewer, manufacturer):
    amendment = plan_version_save(
        application_id=testing.pk,
        actor=reviewer,
        details=_in_force_details(testing.testing_plan, cadence_days=14),
    )
    plan_version_send(application_id=testing.pk, actor=reviewer)
    amendment.refresh_from_db()

    client.force_login(manufacturer)
    case_page = client.get(reverse("devices:application-detail", args=[testing.pk]))
    page = client.get(reverse("devices:testing-plan", args=[testing.pk])).content.decode()

    assert "Version 2 (amendment 1) is waiting for your agreement" in case_page.content.decode()
    assert "Checkpoints: every 28 days → every 14 days." in page
    assert "Version 1 (the plan)" in page
    assert "Version 2 (amendment 1)" in page
    assert "Agree the plan" in page
    agreed = client.post(
        reverse("devices:testing-plan-agree", args=[testing.pk]),
        {
            "agree-number": "2",
            "agree-revision": str(amendment.revision),
            "agree-expected_state": testing.state,
            "agree-confirm": "on",
        },
        follow=True,
    )
    assert "Amendment 1 is agreed and in force from now." in agreed.content.decode()

    client.force_login(reviewer)
    page = client.get(reverse("reviews:testing-plan", args=[testing.pk])).content.decode()
    assert page.count("Agreed, in force") == 1
    assert "Agreed, since amended" in page
    assert f"agreed by {manufacturer}" in page


def test_the_manufacturer_s_agreement_form_needs_the_box_ticked(
    client, testing, reviewer, manufacturer
):
    plan_version_save(
        application_id=testing.pk,
        actor=reviewer,
        details=_in_force_details(testing.testing_plan, cadence_days=14),
    )
    version = plan_version_send(application_id=testing.pk, actor=reviewer)
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:testing-plan-agree", args=[testing.pk]),
        {
            "agree-number": "2",
            "agree-revision": str(version.revision),
            "agree-expected_state": testing.state,
        },
    )

    assert response.status_code == 200
    assert "Tick the box to agree the plan" in response.content.decode()
    assert testing.testing_plan.version == 1


@pytest.mark.parametrize(
    ("name", "persona"),
    [("reviews:testing-plan", "reviewer"), ("devices:testing-plan", "manufacturer")],
)
def test_the_plan_pages_cost_the_same_however_many_versions(
    client, request, testing, reviewer, manufacturer, name, persona, django_assert_max_num_queries
):
    client.force_login(request.getfixturevalue(persona))
    url = reverse(name, args=[testing.pk])
    client.get(url)
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    for cadence in (14, 21, 7):
        version = plan_version_save(
            application_id=testing.pk,
            actor=reviewer,
            details=_in_force_details(testing.testing_plan, cadence_days=cadence),
        )
        plan_version_send(application_id=testing.pk, actor=reviewer)
        version.refresh_from_db()
        _agree(testing, manufacturer, version)

    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url).content.decode()

    assert "Version 4 (amendment 3)" in page


def test_the_notice_of_a_plan_sent_says_what_to_do(accepted, reviewer, manufacturer):
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details())
    plan_version_send(application_id=accepted.pk, actor=reviewer)

    notice = Notification.objects.filter(kind=NotificationKind.PLAN_FOR_AGREEMENT).first()
    assert notice.title == f"{accepted.reference}: the testing plan sent for your agreement"
