"""What each step of a testing plan's agreement leaves behind, asked of reviews.plans itself:
the audit row (who, what, the summary in words), the notice to the other side (who, the title,
the body, where it links, its key) and the plan put in force; and each refusal matched whole.

test_plan_agreement.py follows a plan through its steps; mutation testing (docs/TESTING.md)
changed the summaries, the notices' words and keys, the refusals' words and the stale-page
checks without it noticing.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from devices.models import ApplicationState
from devices.services import TransitionRefused
from notifications.models import Notification, NotificationKind
from reviews.models import (
    AuditAction,
    AuditEntry,
    Checkpoint,
    CheckpointStatus,
    PlanVersion,
    PlanVersionThreshold,
)
from reviews.models import TestingPlan as Plan  # not "Test…": pytest would try to collect it
from reviews.plan_terms import PlanDetails, ThresholdSpec
from reviews.plans import (
    plan_version_agree,
    plan_version_return,
    plan_version_save,
    plan_version_send,
    plan_version_withdraw,
)
from tests.factories import make_application, make_manufacturer
from tests.refusals import refused

pytestmark = pytest.mark.django_db

S = ApplicationState
SENSITIVITY = ThresholdSpec("sensitivity", "gte", Decimal("0.9"), Decimal("0.8"))
SPECIFICITY = ThresholdSpec("specificity", "gte", Decimal("0.85"), Decimal("0.7"), "interval")
STALE = "Someone else changed this application while you were looking at it"


def _details(**changes) -> PlanDetails:
    today = timezone.localdate()
    terms = {
        "environment": "virtual",
        "starts_on": today + timedelta(days=7),
        "ends_on": today + timedelta(days=187),
        "cadence_days": 28,
        "nhs_sites": "Leeds",
        "notes": "Weekly calls.",
        "thresholds": [SENSITIVITY, SPECIFICITY],
    }
    return PlanDetails(**{**terms, **changes})


@pytest.fixture
def accepted(organisation, reviewer):
    """Accepted, assigned to `reviewer`, with no plan yet."""
    application = make_application(S.ACCEPTED, organisation=organisation, assignee=reviewer)
    application.testing_plan.delete()
    application.plan_versions.all().delete()
    application.refresh_from_db()
    return application


def _audit(application):
    return list(
        AuditEntry.objects.filter(application=application)
        .order_by("pk")
        .values_list("actor", "action", "summary", "detail", "plan_version__number")
    )


def _send(application, actor):
    return plan_version_send(application_id=application.pk, actor=actor)


def _agree(application, actor, version, **kwargs):
    return plan_version_agree(
        application_id=application.pk,
        actor=actor,
        number=version.number,
        revision=version.revision,
        **kwargs,
    )


def _return(application, actor, version, comments="Start later.", **kwargs):
    return plan_version_return(
        application_id=application.pk,
        actor=actor,
        number=version.number,
        revision=version.revision,
        comments=comments,
        **kwargs,
    )


# --- Drafting and revising -------------------------------------------------------------------


def test_each_draft_and_revision_is_audited_in_words(accepted, reviewer, manufacturer):
    first = plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details())
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details(notes="A."))
    _send(accepted, reviewer)
    revised = plan_version_save(
        application_id=accepted.pk, actor=reviewer, details=_details(notes="B.")
    )

    assert (first.pk, first.number, first.drafted_by) == (revised.pk, 1, reviewer)
    assert revised.revision == 3
    assert (revised.reviewer_agreed_by, revised.reviewer_agreed_at) == (None, None)
    assert [(actor, action, summary) for actor, action, summary, *_ in _audit(accepted)] == [
        (reviewer.pk, AuditAction.PLAN_DRAFTED, "The testing plan (version 1) drafted."),
        (reviewer.pk, AuditAction.PLAN_REVISED, "The testing plan (version 1) revised."),
        (
            reviewer.pk,
            AuditAction.PLAN_SENT,
            "The testing plan (version 1) agreed by the regulator and sent to the manufacturer.",
        ),
        (
            reviewer.pk,
            AuditAction.PLAN_REVISED,
            "The testing plan (version 1) revised, taking it back from the manufacturer until "
            "it is sent again.",
        ),
    ]
    assert {number for *_, number in _audit(accepted)} == {1}


def test_a_draft_keeps_every_term_and_threshold_as_given(accepted, reviewer):
    details = _details()

    version = plan_version_save(application_id=accepted.pk, actor=reviewer, details=details)

    version.refresh_from_db()
    assert (
        version.environment,
        version.starts_on,
        version.ends_on,
        version.cadence_days,
        version.nhs_sites,
        version.notes,
    ) == ("virtual", details.starts_on, details.ends_on, 28, "Leeds", "Weekly calls.")
    assert list(
        PlanVersionThreshold.objects.filter(version=version)
        .order_by("metric")
        .values_list("metric", "comparator", "value", "critical_value", "judged_on")
    ) == [
        ("sensitivity", "gte", Decimal("0.9"), Decimal("0.8"), "estimate"),
        ("specificity", "gte", Decimal("0.85"), Decimal("0.7"), "interval"),
    ]
    # A revision replaces the thresholds, it does not add to them.
    plan_version_save(
        application_id=accepted.pk, actor=reviewer, details=_details(thresholds=[SENSITIVITY])
    )
    assert list(version.thresholds.values_list("metric", flat=True)) == ["sensitivity"]


def test_amendments_are_numbered_on_from_the_last_version(organisation, reviewer, manufacturer):
    application = make_application(
        S.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )
    plan = application.testing_plan

    numbers = []
    for cadence in (14, 21):
        details = _details(
            starts_on=plan.starts_on,
            ends_on=plan.ends_on,
            cadence_days=cadence,
            thresholds=[SENSITIVITY],
        )
        version = plan_version_save(application_id=application.pk, actor=reviewer, details=details)
        numbers.append(version.number)
        _agree(application, manufacturer, _send(application, reviewer))

    assert numbers == [2, 3]
    summaries = [summary for _, _, summary, *_ in _audit(application)]
    assert summaries == [
        "Amendment 1 (version 2) drafted.",
        "Amendment 1 (version 2) agreed by the regulator and sent to the manufacturer.",
        "Amendment 1 (version 2) agreed by the manufacturer: in force from now.",
        "Amendment 2 (version 3) drafted.",
        "Amendment 2 (version 3) agreed by the regulator and sent to the manufacturer.",
        "Amendment 2 (version 3) agreed by the manufacturer: in force from now.",
    ]
    plan.refresh_from_db()
    assert (plan.version, plan.cadence_days) == (3, 21)


@pytest.mark.parametrize("state", [S.SUBMITTED, S.EVIDENCE_REVIEW, S.CLEARED])
def test_the_plan_is_refused_in_words_outside_acceptance_and_testing(organisation, reviewer, state):
    application = make_application(state, organisation=organisation, assignee=reviewer)

    with refused(
        TransitionRefused,
        "The testing plan is agreed between acceptance and the end of testing; this "
        f"application is {application.state_enum.in_words}.",
    ):
        plan_version_save(application_id=application.pk, actor=reviewer, details=_details())


def test_every_step_refuses_a_page_showing_an_older_state(accepted, reviewer, manufacturer):
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details())
    stale = {"expected_state": S.SCREENING}

    with pytest.raises(TransitionRefused, match=STALE):
        plan_version_save(
            application_id=accepted.pk, actor=reviewer, details=_details(notes="B."), **stale
        )
    with pytest.raises(TransitionRefused, match=STALE):
        plan_version_send(application_id=accepted.pk, actor=reviewer, **stale)
    version = _send(accepted, reviewer)
    with pytest.raises(TransitionRefused, match=STALE):
        _agree(accepted, manufacturer, version, **stale)
    with pytest.raises(TransitionRefused, match=STALE):
        _return(accepted, manufacturer, version, **stale)

    version.refresh_from_db()
    assert (version.revision, version.manufacturer_agreed_at, version.returned_at) == (
        1,
        None,
        None,
    )


# --- Sending -----------------------------------------------------------------------------------


def test_sending_is_refused_in_words(accepted, reviewer):
    with refused(TransitionRefused, "Draft the testing plan first."):
        _send(accepted, reviewer)
    version = plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details())
    PlanVersionThreshold.objects.filter(version=version).delete()
    with refused(TransitionRefused, "Set at least one metric threshold first."):
        _send(accepted, reviewer)
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details())
    sent = _send(accepted, reviewer)
    on = timezone.localtime(sent.reviewer_agreed_at)
    with refused(
        TransitionRefused,
        f"{reviewer} sent this version on {on:%-d %B %Y}; it is waiting for the "
        "manufacturer's agreement.",
    ):
        _send(accepted, reviewer)

    sent.refresh_from_db()
    assert (sent.reviewer_agreed_by, sent.reviewer_agreed_at) == (reviewer, on)


def test_the_manufacturer_s_team_is_told_of_a_first_plan(
    accepted, reviewer, manufacturer, organisation
):
    colleague = make_manufacturer(organisation, email="colleague@example.test")
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details())

    version = _send(accepted, reviewer)

    notices = Notification.objects.filter(kind=NotificationKind.PLAN_FOR_AGREEMENT)
    assert sorted(notices.values_list("recipient", "email_to")) == sorted(
        [(manufacturer.pk, manufacturer.email), (colleague.pk, colleague.email)]
    )
    notice = notices.first()
    assert (notice.application, notice.key, notice.url) == (
        accepted,
        f"plan:{version.pk}:sent:1",
        reverse("devices:testing-plan", args=[accepted.pk]),
    )
    assert notice.title == f"{accepted.reference}: the testing plan sent for your agreement"
    assert notice.body == (
        f"{reviewer} has agreed the testing plan (version 1) for {accepted.title} and sent it to "
        "you. It takes effect once you agree it; you can also return it with comments."
    )


def test_an_amendment_s_notice_lists_what_it_changes(organisation, reviewer, manufacturer):
    application = make_application(
        S.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )
    plan = application.testing_plan
    plan_version_save(
        application_id=application.pk,
        actor=reviewer,
        details=_details(
            starts_on=plan.starts_on,
            ends_on=plan.ends_on,
            cadence_days=14,
            nhs_sites=plan.nhs_sites,
            notes=plan.notes,
            thresholds=[SENSITIVITY],
        ),
    )

    version = _send(application, reviewer)

    notice = Notification.objects.get(kind=NotificationKind.PLAN_FOR_AGREEMENT)
    assert notice.title == f"{application.reference}: amendment 1 sent for your agreement"
    assert notice.key == f"plan:{version.pk}:sent:1"
    assert notice.body == "\n".join(
        [
            f"{reviewer} has agreed amendment 1 (version 2) for {application.title} and sent "
            "it to you. It takes effect once you agree it; you can also return it with "
            "comments.",
            "",
            "What it changes:",
            "- Checkpoints: every 28 days → every 14 days.",
        ]
    )


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
    details = _details(starts_on=plan.starts_on, ends_on=ends_on, cadence_days=7, nhs_sites="York")
    # The lead sends it; the assigned reviewer and the lead are both told of the agreement.
    plan_version_save(application_id=application.pk, actor=lead_reviewer, details=details)
    version = _send(application, lead_reviewer)

    agreed = _agree(application, manufacturer, version)

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
    assert _audit(application)[-1] == (
        manufacturer.pk,
        AuditAction.PLAN_AGREED,
        "Amendment 1 (version 2) agreed by the manufacturer: in force from now.",
        "",
        2,
    )


def test_a_sender_who_has_left_is_not_told(accepted, reviewer, lead_reviewer, manufacturer):
    plan_version_save(application_id=accepted.pk, actor=lead_reviewer, details=_details())
    version = _send(accepted, lead_reviewer)
    lead_reviewer.is_active = False
    lead_reviewer.save(update_fields=["is_active"])

    _agree(accepted, manufacturer, version)

    notices = Notification.objects.filter(kind=NotificationKind.PLAN_AGREED)
    assert list(notices.values_list("recipient", flat=True)) == [reviewer.pk]


def test_an_administrator_agrees_for_any_manufacturer(accepted, reviewer, admin_user):
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details())

    _agree(accepted, admin_user, _send(accepted, reviewer))

    assert Plan.objects.get(application=accepted).agreed_by == admin_user


def test_a_version_not_as_shown_is_refused_in_words(accepted, reviewer, manufacturer):
    draft = plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details())
    message = (
        "The regulator changed the testing plan while you were reading it. Nothing was agreed "
        "or returned: read the plan as it is now."
    )

    with refused(TransitionRefused, message):
        _agree(accepted, manufacturer, draft)  # not sent yet
    sent = _send(accepted, reviewer)
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
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details())
    version = _send(accepted, reviewer)

    with pytest.raises(ValidationError) as empty:
        _return(accepted, manufacturer, version, comments=" \n")
    assert empty.value.message_dict == {
        "comments": ["Say what should change before returning the plan."]
    }
    returned = _return(accepted, manufacturer, version, comments="  Start in January.\n")

    returned.refresh_from_db()
    assert (returned.returned_by, returned.return_comments) == (manufacturer, "Start in January.")
    assert returned.returned_at is not None
    assert (returned.reviewer_agreed_by, returned.reviewer_agreed_at) == (None, None)
    assert _audit(accepted)[-1] == (
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
        details=_details(starts_on=plan.starts_on, ends_on=plan.ends_on, cadence_days=14),
    )

    version = plan_version_withdraw(
        application_id=application.pk, actor=reviewer, reason="  Sites prefer monthly.\n"
    )

    version.refresh_from_db()
    assert version.withdrawn_by == reviewer
    assert version.withdrawn_at is not None
    assert _audit(application)[-1] == (
        reviewer.pk,
        AuditAction.PLAN_WITHDRAWN,
        "Amendment 1 (version 2) withdrawn; the plan in force is unchanged.",
        "Sites prefer monthly.",
        2,
    )
    assert PlanVersion.objects.filter(application=application).open().count() == 0


def test_a_first_plan_is_revised_not_withdrawn(accepted, reviewer):
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=_details())

    with refused(
        TransitionRefused,
        "There is no amendment to withdraw; a first plan is revised, not withdrawn.",
    ):
        plan_version_withdraw(application_id=accepted.pk, actor=reviewer, reason="No.")

    assert PlanVersion.objects.get(application=accepted).withdrawn_at is None


def test_a_return_reaches_the_sender_besides_the_assignee_but_never_the_actor(
    accepted, reviewer, lead_reviewer, admin_user, manufacturer
):
    plan_version_save(application_id=accepted.pk, actor=lead_reviewer, details=_details())
    version = _return(accepted, manufacturer, _send(accepted, lead_reviewer))
    # An administrator may act on both sides; they are not told of their own return.
    plan_version_save(application_id=accepted.pk, actor=admin_user, details=_details(notes="B."))
    _return(accepted, admin_user, _send(accepted, admin_user))

    notices = Notification.objects.filter(kind=NotificationKind.PLAN_RETURNED)
    assert sorted(notices.values_list("recipient", "key")) == sorted(
        [
            (reviewer.pk, f"plan:{version.pk}:returned:1"),
            (lead_reviewer.pk, f"plan:{version.pk}:returned:1"),
            (reviewer.pk, f"plan:{version.pk}:returned:2"),
        ]
    )
    assert {notice.application for notice in notices} == {accepted}
