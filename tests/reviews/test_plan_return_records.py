"""What agreeing, returning and withdrawing a testing plan leave behind, asked of reviews.plans
itself: the plan put in force, the notices to each side, the audit rows, and each refusal
matched whole (test_plan_records.py has drafting and sending)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from devices.services import TransitionRefused
from notifications.models import Notification, NotificationKind
from reviews.models import (
    AuditAction,
    Checkpoint,
    CheckpointStatus,
    PlanVersion,
)
from reviews.models import TestingPlan as Plan  # not "Test…": pytest would try to collect it
from reviews.plans import (
    plan_version_agree,
    plan_version_save,
    plan_version_withdraw,
)
from tests.factories import make_application
from tests.refusals import refused
from tests.reviews.plan_steps import (
    STALE,
    S,
    agree,
    audit_rows,
    case_accepted,
    give_back,
    plan_details,
    send,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def accepted(organisation, reviewer):
    return case_accepted(organisation, reviewer)


# --- Agreeing and returning --------------------------------------------------------------------


def test_agreeing_puts_every_term_in_force_and_tells_the_regulator_s_side(
    organisation, reviewer, lead_reviewer, manufacturer
):
    application = make_application(
        S.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )
    plan = application.testing_plan
    today = timezone.localdate()
    ends_on = today + timedelta(days=30)
    for sequence, due_on, status in (
        (1, ends_on, CheckpointStatus.SCHEDULED),
        (2, ends_on + timedelta(days=1), CheckpointStatus.SCHEDULED),
        (3, ends_on + timedelta(days=2), CheckpointStatus.OVERDUE),
    ):
        Checkpoint.objects.create(
            application=application, sequence=sequence, due_on=due_on, status=status
        )
    details = plan_details(
        starts_on=plan.starts_on, ends_on=ends_on, cadence_days=7, nhs_sites="York"
    )
    # The lead sends it; the assigned reviewer and the lead are both told of the agreement.
    plan_version_save(application_id=application.pk, actor=lead_reviewer, details=details)
    version = send(application, lead_reviewer)

    agreed = agree(application, manufacturer, version)

    plan.refresh_from_db()
    assert (plan.version, plan.cadence_days, plan.ends_on, plan.nhs_sites, plan.notes) == (
        2,
        7,
        ends_on,
        "York",
        "Weekly calls.",
    )
    assert (plan.drafted_by, plan.agreed_by, plan.agreed_at) == (
        lead_reviewer,
        manufacturer,
        agreed.manufacturer_agreed_at,
    )
    agreed.refresh_from_db()
    assert agreed.manufacturer_agreed_by == manufacturer
    assert list(
        plan.thresholds.order_by("metric").values_list(
            "metric", "comparator", "value", "critical_value", "judged_on"
        )
    ) == [
        ("sensitivity", "gte", Decimal("0.9"), Decimal("0.8"), "estimate"),
        ("specificity", "gte", Decimal("0.85"), Decimal("0.7"), "interval"),
    ]
    # Scheduled past the new end: dropped; on the end day, or no longer scheduled: kept.
    assert sorted(application.checkpoints.values_list("sequence", flat=True)) == [1, 3]
    notices = Notification.objects.filter(kind=NotificationKind.PLAN_AGREED)
    assert sorted(notices.values_list("recipient", flat=True)) == sorted(
        [reviewer.pk, lead_reviewer.pk]
    )
    notice = notices.first()
    assert (notice.key, notice.url) == (
        f"plan:{version.pk}:agreed",
        reverse("reviews:testing-plan", args=[application.pk]),
    )
    assert notice.title == f"{application.reference}: amendment 1 agreed by the manufacturer"
    assert notice.body == (
        f"{manufacturer} agreed amendment 1 (version 2) for {application.title}. It is in force "
        "from now."
    )
    assert audit_rows(application)[-1] == (
        manufacturer.pk,
        AuditAction.PLAN_AGREED,
        "Amendment 1 (version 2) agreed by the manufacturer: in force from now.",
        "",
        2,
    )


def test_a_sender_who_has_left_is_not_told(accepted, reviewer, lead_reviewer, manufacturer):
    plan_version_save(application_id=accepted.pk, actor=lead_reviewer, details=plan_details())
    version = send(accepted, lead_reviewer)
    lead_reviewer.is_active = False
    lead_reviewer.save(update_fields=["is_active"])

    agree(accepted, manufacturer, version)

    notices = Notification.objects.filter(kind=NotificationKind.PLAN_AGREED)
    assert list(notices.values_list("recipient", flat=True)) == [reviewer.pk]


def test_an_administrator_agrees_for_any_manufacturer(accepted, reviewer, admin_user):
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=plan_details())

    agree(accepted, admin_user, send(accepted, reviewer))

    assert Plan.objects.get(application=accepted).agreed_by == admin_user


def test_a_version_not_as_shown_is_refused_in_words(accepted, reviewer, manufacturer):
    draft = plan_version_save(application_id=accepted.pk, actor=reviewer, details=plan_details())
    message = (
        "The regulator changed the testing plan while you were reading it. Nothing was agreed "
        "or returned: read the plan as it is now."
    )

    with refused(TransitionRefused, message):
        agree(accepted, manufacturer, draft)  # not sent yet
    sent = send(accepted, reviewer)
    for number, revision in ((2, sent.revision), (1, sent.revision + 1)):
        with refused(TransitionRefused, message):
            plan_version_agree(
                application_id=accepted.pk,
                actor=manufacturer,
                number=number,
                revision=revision,
            )

    assert not Plan.objects.filter(application=accepted).exists()


def test_returning_is_recorded_told_and_refused_in_words(accepted, reviewer, manufacturer):
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=plan_details())
    version = send(accepted, reviewer)

    with pytest.raises(ValidationError) as empty:
        give_back(accepted, manufacturer, version, comments=" \n")
    assert empty.value.message_dict == {
        "comments": ["Say what should change before returning the plan."]
    }
    returned = give_back(accepted, manufacturer, version, comments="  Start in January.\n")

    returned.refresh_from_db()
    assert (returned.returned_by, returned.return_comments) == (manufacturer, "Start in January.")
    assert returned.returned_at is not None
    assert (returned.reviewer_agreed_by, returned.reviewer_agreed_at) == (None, None)
    assert audit_rows(accepted)[-1] == (
        manufacturer.pk,
        AuditAction.PLAN_RETURNED,
        "The testing plan (version 1) returned by the manufacturer with comments.",
        "Start in January.",
        1,
    )
    notice = Notification.objects.get(kind=NotificationKind.PLAN_RETURNED)
    assert (notice.recipient, notice.key, notice.url) == (
        reviewer,
        f"plan:{version.pk}:returned:1",
        reverse("reviews:testing-plan", args=[accepted.pk]),
    )
    assert notice.title == f"{accepted.reference}: the testing plan returned with comments"
    assert notice.body == (
        f"{manufacturer} returned the testing plan (version 1) for {accepted.title} with "
        "comments. Read them and revise the plan in Airlock."
    )


# --- Withdrawing -------------------------------------------------------------------------------


def test_withdrawing_is_recorded_and_refused_in_words(organisation, reviewer):
    application = make_application(
        S.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )
    plan = application.testing_plan
    no_amendment = "There is no amendment to withdraw; a first plan is revised, not withdrawn."

    with pytest.raises(ValidationError) as empty:
        plan_version_withdraw(application_id=application.pk, actor=reviewer, reason=" ")
    assert empty.value.message_dict == {"reason": ["Say why the amendment is withdrawn."]}
    with refused(TransitionRefused, no_amendment):
        plan_version_withdraw(application_id=application.pk, actor=reviewer, reason="No.")
    with pytest.raises(TransitionRefused, match=STALE):
        plan_version_withdraw(
            application_id=application.pk,
            actor=reviewer,
            reason="No.",
            expected_state=S.SUSPENDED,
        )
    plan_version_save(
        application_id=application.pk,
        actor=reviewer,
        details=plan_details(starts_on=plan.starts_on, ends_on=plan.ends_on, cadence_days=14),
    )

    version = plan_version_withdraw(
        application_id=application.pk, actor=reviewer, reason="  Sites prefer monthly.\n"
    )

    version.refresh_from_db()
    assert version.withdrawn_by == reviewer
    assert version.withdrawn_at is not None
    assert audit_rows(application)[-1] == (
        reviewer.pk,
        AuditAction.PLAN_WITHDRAWN,
        "Amendment 1 (version 2) withdrawn; the plan in force is unchanged.",
        "Sites prefer monthly.",
        2,
    )
    assert PlanVersion.objects.filter(application=application).open().count() == 0


def test_a_first_plan_is_revised_not_withdrawn(accepted, reviewer):
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=plan_details())

    with refused(
        TransitionRefused,
        "There is no amendment to withdraw; a first plan is revised, not withdrawn.",
    ):
        plan_version_withdraw(application_id=accepted.pk, actor=reviewer, reason="No.")

    assert PlanVersion.objects.get(application=accepted).withdrawn_at is None


def test_a_return_reaches_the_sender_besides_the_assignee_but_never_the_actor(
    accepted, reviewer, lead_reviewer, admin_user, manufacturer
):
    plan_version_save(application_id=accepted.pk, actor=lead_reviewer, details=plan_details())
    version = give_back(accepted, manufacturer, send(accepted, lead_reviewer))
    # An administrator may act on both sides; they are not told of their own return.
    plan_version_save(
        application_id=accepted.pk, actor=admin_user, details=plan_details(notes="B.")
    )
    give_back(accepted, admin_user, send(accepted, admin_user))

    notices = Notification.objects.filter(kind=NotificationKind.PLAN_RETURNED)
    assert sorted(notices.values_list("recipient", "key")) == sorted(
        [
            (reviewer.pk, f"plan:{version.pk}:returned:1"),
            (lead_reviewer.pk, f"plan:{version.pk}:returned:1"),
            (reviewer.pk, f"plan:{version.pk}:returned:2"),
        ]
    )
    assert {notice.application for notice in notices} == {accepted}
