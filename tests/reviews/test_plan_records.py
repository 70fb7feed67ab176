"""What each step of a testing plan's agreement leaves behind, asked of reviews.plans itself:
the audit row (who, what, the summary in words), the notice to the other side (who, the title,
the body, where it links, its key) and the plan put in force; and each refusal matched whole.

test_plan_agreement.py follows a plan through its steps; mutation testing (docs/TESTING.md)
changed the summaries, the notices' words and keys, the refusals' words and the stale-page
checks without it noticing.
"""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from devices.services import TransitionRefused
from notifications.models import Notification, NotificationKind
from reviews.models import (
    AuditAction,
    PlanVersionThreshold,
)
from reviews.plans import (
    plan_version_save,
    plan_version_send,
)
from tests.factories import make_application, make_manufacturer
from tests.refusals import refused
from tests.reviews.plan_steps import (
    SENSITIVITY,
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


# --- Drafting and revising -------------------------------------------------------------------


def test_each_draft_and_revision_is_audited_in_words(accepted, reviewer, manufacturer):
    first = plan_version_save(application_id=accepted.pk, actor=reviewer, details=plan_details())
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=plan_details(notes="A."))
    send(accepted, reviewer)
    revised = plan_version_save(
        application_id=accepted.pk, actor=reviewer, details=plan_details(notes="B.")
    )

    assert (first.pk, first.number, first.drafted_by) == (revised.pk, 1, reviewer)
    assert revised.revision == 3
    assert (revised.reviewer_agreed_by, revised.reviewer_agreed_at) == (None, None)
    assert [(actor, action, summary) for actor, action, summary, *_ in audit_rows(accepted)] == [
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
    assert {number for *_, number in audit_rows(accepted)} == {1}


def test_a_draft_keeps_every_term_and_threshold_as_given(accepted, reviewer):
    details = plan_details()

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
        application_id=accepted.pk, actor=reviewer, details=plan_details(thresholds=[SENSITIVITY])
    )
    assert list(version.thresholds.values_list("metric", flat=True)) == ["sensitivity"]


def test_amendments_are_numbered_on_from_the_last_version(organisation, reviewer, manufacturer):
    application = make_application(
        S.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )
    plan = application.testing_plan

    numbers = []
    for cadence in (14, 21):
        details = plan_details(
            starts_on=plan.starts_on,
            ends_on=plan.ends_on,
            cadence_days=cadence,
            thresholds=[SENSITIVITY],
        )
        version = plan_version_save(application_id=application.pk, actor=reviewer, details=details)
        numbers.append(version.number)
        agree(application, manufacturer, send(application, reviewer))

    assert numbers == [2, 3]
    summaries = [summary for _, _, summary, *_ in audit_rows(application)]
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
        plan_version_save(application_id=application.pk, actor=reviewer, details=plan_details())


def test_every_step_refuses_a_page_showing_an_older_state(accepted, reviewer, manufacturer):
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=plan_details())
    stale = {"expected_state": S.SCREENING}

    with pytest.raises(TransitionRefused, match=STALE):
        plan_version_save(
            application_id=accepted.pk, actor=reviewer, details=plan_details(notes="B."), **stale
        )
    with pytest.raises(TransitionRefused, match=STALE):
        plan_version_send(application_id=accepted.pk, actor=reviewer, **stale)
    version = send(accepted, reviewer)
    with pytest.raises(TransitionRefused, match=STALE):
        agree(accepted, manufacturer, version, **stale)
    with pytest.raises(TransitionRefused, match=STALE):
        give_back(accepted, manufacturer, version, **stale)

    version.refresh_from_db()
    assert (version.revision, version.manufacturer_agreed_at, version.returned_at) == (
        1,
        None,
        None,
    )


# --- Sending -----------------------------------------------------------------------------------


def test_sending_is_refused_in_words(accepted, reviewer):
    with refused(TransitionRefused, "Draft the testing plan first."):
        send(accepted, reviewer)
    version = plan_version_save(application_id=accepted.pk, actor=reviewer, details=plan_details())
    PlanVersionThreshold.objects.filter(version=version).delete()
    with refused(TransitionRefused, "Set at least one metric threshold first."):
        send(accepted, reviewer)
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=plan_details())
    sent = send(accepted, reviewer)
    on = timezone.localtime(sent.reviewer_agreed_at)
    with refused(
        TransitionRefused,
        f"{reviewer} sent this version on {on:%-d %B %Y}; it is waiting for the "
        "manufacturer's agreement.",
    ):
        send(accepted, reviewer)

    sent.refresh_from_db()
    assert (sent.reviewer_agreed_by, sent.reviewer_agreed_at) == (reviewer, on)


def test_the_manufacturer_s_team_is_told_of_a_first_plan(
    accepted, reviewer, manufacturer, organisation
):
    colleague = make_manufacturer(organisation, email="colleague@example.test")
    plan_version_save(application_id=accepted.pk, actor=reviewer, details=plan_details())

    version = send(accepted, reviewer)

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
        details=plan_details(
            starts_on=plan.starts_on,
            ends_on=plan.ends_on,
            cadence_days=14,
            nhs_sites=plan.nhs_sites,
            notes=plan.notes,
            thresholds=[SENSITIVITY],
        ),
    )

    version = send(application, reviewer)

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
