"""Testing plans agreed by both sides, and numbered amendments.

A reviewer drafts a version (the first plan, or an amendment to the plan in force), agrees it
and sends it; the manufacturer agrees it or returns it with comments. Only a version both sides
have agreed takes effect: its terms are then copied onto the case's TestingPlan, which is all
the checkpoint sweep and report evaluation read. Each step is audited (AuditEntry) and the
other side is told (notifications). What a plan says and the rules it must meet are in
reviews.plan_terms.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from airlock.models import User
from devices.models import (
    REVIEWER,
    Application,
    ApplicationState,
    contributor_refusal,
    may_contribute,
)
from devices.services import TransitionRefused, check_fresh, lock_application
from notifications import recipients
from notifications.models import NotificationKind
from notifications.recipients import Recipient
from notifications.services import notify
from reviews.models import (
    AuditAction,
    AuditEntry,
    Checkpoint,
    CheckpointStatus,
    MetricThreshold,
    PlanVersion,
    PlanVersionThreshold,
    TestingPlan,
)
from reviews.plan_terms import (
    PLAN_EDITABLE_STATES,
    PLAN_FIELDS,
    PlanDetails,
    Terms,
    plan_changes,
    plan_dates_problems,
    thresholds_problem,
)


def _require_reviewer(application: Application, actor: User) -> None:
    if not REVIEWER(application, actor):
        raise PermissionError(REVIEWER.refusal(application, actor))


def _require_editable(application: Application) -> None:
    if application.state not in PLAN_EDITABLE_STATES:
        raise TransitionRefused(
            "The testing plan is agreed between acceptance and the end of testing; this "
            f"application is {application.state_enum.in_words}."
        )


def _audit(application, actor, action, summary, *, version, detail="") -> None:
    AuditEntry.objects.create(
        application=application,
        actor=actor,
        action=action,
        summary=summary,
        detail=detail,
        plan_version=version,
    )


def _label(version: PlanVersion) -> str:
    return "the testing plan" if version.number == 1 else f"amendment {version.number - 1}"


def plan_version_save(
    *,
    application_id: int,
    actor: User,
    details: PlanDetails,
    expected_state: str | None = None,
) -> PlanVersion:
    """Draft the plan, draft an amendment to the plan in force, or revise the open draft.

    Steps: check the thresholds (refused with a reason) and the dates (ValidationError by
    field); lock the case; refuse unless an unconflicted reviewer acts while the plan can
    change; revise the open version (a version already sent is taken back from the
    manufacturer until it is sent again) or start the next number; refuse an amendment that
    changes nothing; replace its thresholds; audit. Nothing takes effect until both sides
    agree.
    """
    problem = thresholds_problem(details.thresholds)
    if problem:
        raise TransitionRefused(problem)
    with transaction.atomic():
        application = lock_application(application_id)
        check_fresh(application, expected_state)
        _require_reviewer(application, actor)
        _require_editable(application)
        in_force = TestingPlan.objects.filter(application=application).first()
        problems = plan_dates_problems(
            starts_on=details.starts_on,
            ends_on=details.ends_on,
            in_force=in_force,
            testing_began=application.state != ApplicationState.ACCEPTED,
        )
        if problems:
            raise ValidationError(problems)
        if in_force is not None and Terms.of(in_force) == Terms.of_details(details):
            raise TransitionRefused(
                "That is the plan in force already: change something to propose an amendment."
            )
        version = PlanVersion.objects.select_for_update().filter(application=application).open()
        version = version.first()
        if version is None:
            last = PlanVersion.objects.filter(application=application).order_by("-number").first()
            version = PlanVersion(
                application=application, number=last.number + 1 if last else 1, drafted_by=actor
            )
            action, summary = AuditAction.PLAN_DRAFTED, "drafted"
        else:
            version.revision += 1
            action, summary = AuditAction.PLAN_REVISED, "revised"
            if version.reviewer_agreed_at is not None:
                summary = "revised, taking it back from the manufacturer until it is sent again"
            version.reviewer_agreed_by = version.reviewer_agreed_at = None
        for name in PLAN_FIELDS:
            setattr(version, name, getattr(details, name))
        version.save()
        PlanVersionThreshold.objects.filter(version=version).delete()
        PlanVersionThreshold.objects.bulk_create(
            PlanVersionThreshold(
                version=version,
                metric=spec.metric,
                comparator=spec.comparator,
                value=spec.value,
                critical_value=spec.critical_value,
                judged_on=spec.judged_on,
            )
            for spec in details.thresholds
        )
        _audit(
            application,
            actor,
            action,
            f"{_label(version).capitalize()} (version {version.number}) {summary}.",
            version=version,
        )
    return version


def plan_version_send(
    *, application_id: int, actor: User, expected_state: str | None = None
) -> PlanVersion:
    """The reviewer agrees the open version and sends it to the manufacturer to agree.

    Steps: lock; refuse unless an unconflicted reviewer acts while the plan can change and a
    version is drafted and not yet sent; record the reviewer's agreement; audit; tell the
    manufacturer's team.
    """
    with transaction.atomic():
        application = lock_application(application_id)
        check_fresh(application, expected_state)
        _require_reviewer(application, actor)
        _require_editable(application)
        version = PlanVersion.objects.select_for_update().filter(application=application).open()
        version = version.first()
        if version is None:
            raise TransitionRefused("Draft the testing plan first.")
        if version.reviewer_agreed_at is not None:
            raise TransitionRefused(
                f"{version.reviewer_agreed_by} sent this version on "
                f"{timezone.localtime(version.reviewer_agreed_at):%-d %B %Y}; it is waiting for "
                "the manufacturer's agreement."
            )
        if not version.thresholds.exists():
            raise TransitionRefused("Set at least one metric threshold first.")
        version.reviewer_agreed_by, version.reviewer_agreed_at = actor, timezone.now()
        version.save(update_fields=["reviewer_agreed_by", "reviewer_agreed_at"])
        label = _label(version)
        _audit(
            application,
            actor,
            AuditAction.PLAN_SENT,
            f"{label.capitalize()} (version {version.number}) agreed by the regulator and sent "
            "to the manufacturer.",
            version=version,
        )
        in_force = TestingPlan.objects.filter(application=application).first()
        changes = plan_changes(Terms.of(in_force), Terms.of(version)) if in_force else []
        body = [
            f"{actor} has agreed {label} (version {version.number}) for {application.title} "
            "and sent it to you. It takes effect once you agree it; you can also return it "
            "with comments."
        ]
        if changes:
            body += ["", "What it changes:", *(f"- {change}" for change in changes)]
        notify(
            recipients.team(application.organisation_id),
            application=application,
            kind=NotificationKind.PLAN_FOR_AGREEMENT,
            key=f"plan:{version.pk}:sent:{version.revision}",
            title=f"{application.reference}: {label} sent for your agreement",
            body="\n".join(body),
            url=reverse("devices:testing-plan", args=[application.pk]),
            exclude=actor,
        )
    return version


def _manufacturer_version(
    application_id: int, actor: User, number: int, revision: int, expected_state: str | None
) -> tuple[Application, PlanVersion]:
    application = lock_application(application_id)
    check_fresh(application, expected_state)
    if not (actor.is_superuser or may_contribute(actor, application.organisation_id)):
        raise PermissionError(contributor_refusal(actor, application.organisation))
    _require_editable(application)
    version = (
        PlanVersion.objects.select_for_update()
        .filter(application=application, number=number)
        .open()
        .first()
    )
    if version is None or version.reviewer_agreed_at is None or version.revision != revision:
        raise TransitionRefused(
            "The regulator changed the testing plan while you were reading it. Nothing was "
            "agreed or returned: read the plan as it is now."
        )
    return application, version


def _regulator_side(application: Application, sender: User | None) -> list[Recipient]:
    """The reviewers of the case, and whoever sent the version if that is someone else."""
    told = recipients.reviewers(application)
    if sender is not None and sender.is_active:
        told.append(Recipient(sender.pk, sender.email, str(sender)))
    return told


def _put_in_force(application: Application, version: PlanVersion, actor: User) -> TestingPlan:
    """Copy an agreed version's terms onto the plan in force, so the sweep and evaluation use
    them from now on. Checkpoints already scheduled past a new end date, and not reported,
    are dropped: they are no longer part of the plan."""
    plan = TestingPlan.objects.filter(application=application).first() or TestingPlan(
        application=application
    )
    for name in PLAN_FIELDS:
        setattr(plan, name, getattr(version, name))
    plan.drafted_by = version.drafted_by
    plan.agreed_by, plan.agreed_at = actor, version.manufacturer_agreed_at
    plan.version = version.number
    plan.save()
    MetricThreshold.objects.filter(plan=plan).delete()
    MetricThreshold.objects.bulk_create(
        MetricThreshold(
            plan=plan,
            metric=t.metric,
            comparator=t.comparator,
            value=t.value,
            critical_value=t.critical_value,
            judged_on=t.judged_on,
        )
        for t in version.thresholds.all()
    )
    Checkpoint.objects.filter(
        application=application,
        status=CheckpointStatus.SCHEDULED,
        due_on__gt=plan.ends_on,
        report__isnull=True,
    ).delete()
    return plan


def plan_version_agree(
    *,
    application_id: int,
    actor: User,
    number: int,
    revision: int,
    expected_state: str | None = None,
) -> PlanVersion:
    """The manufacturer agrees the version the regulator sent: it takes effect.

    Steps: lock; refuse anyone but the organisation's team, and any version other than the one
    the page showed; record their agreement; put its terms in force; audit; tell the
    regulator's side.
    """
    with transaction.atomic():
        application, version = _manufacturer_version(
            application_id, actor, number, revision, expected_state
        )
        version.manufacturer_agreed_by, version.manufacturer_agreed_at = actor, timezone.now()
        version.save(update_fields=["manufacturer_agreed_by", "manufacturer_agreed_at"])
        _put_in_force(application, version, actor)
        label = _label(version)
        _audit(
            application,
            actor,
            AuditAction.PLAN_AGREED,
            f"{label.capitalize()} (version {version.number}) agreed by the manufacturer: in "
            "force from now.",
            version=version,
        )
        notify(
            _regulator_side(application, version.reviewer_agreed_by),
            application=application,
            kind=NotificationKind.PLAN_AGREED,
            key=f"plan:{version.pk}:agreed",
            title=f"{application.reference}: {label} agreed by the manufacturer",
            body=f"{actor} agreed {label} (version {version.number}) for {application.title}. "
            "It is in force from now.",
            url=reverse("reviews:testing-plan", args=[application.pk]),
            exclude=actor,
        )
    return version


def plan_version_return(
    *,
    application_id: int,
    actor: User,
    number: int,
    revision: int,
    comments: str,
    expected_state: str | None = None,
) -> PlanVersion:
    """The manufacturer returns the version with comments; the reviewer revises and sends it
    again. The plan in force (if any) is unchanged."""
    if not comments.strip():
        raise ValidationError({"comments": "Say what should change before returning the plan."})
    with transaction.atomic():
        application, version = _manufacturer_version(
            application_id, actor, number, revision, expected_state
        )
        version.returned_by, version.returned_at = actor, timezone.now()
        version.return_comments = comments.strip()
        sender = version.reviewer_agreed_by
        version.reviewer_agreed_by = version.reviewer_agreed_at = None
        version.save(
            update_fields=[
                "returned_by",
                "returned_at",
                "return_comments",
                "reviewer_agreed_by",
                "reviewer_agreed_at",
            ]
        )
        label = _label(version)
        _audit(
            application,
            actor,
            AuditAction.PLAN_RETURNED,
            f"{label.capitalize()} (version {version.number}) returned by the manufacturer with "
            "comments.",
            version=version,
            detail=version.return_comments,
        )
        notify(
            _regulator_side(application, sender),
            application=application,
            kind=NotificationKind.PLAN_RETURNED,
            key=f"plan:{version.pk}:returned:{version.revision}",
            title=f"{application.reference}: {label} returned with comments",
            body=f"{actor} returned {label} (version {version.number}) for {application.title} "
            "with comments. Read them and revise the plan in Airlock.",
            url=reverse("reviews:testing-plan", args=[application.pk]),
            exclude=actor,
        )
    return version


def plan_version_withdraw(
    *, application_id: int, actor: User, reason: str, expected_state: str | None = None
) -> PlanVersion:
    """A reviewer abandons an amendment that is not agreed yet: the plan in force stays."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the amendment is withdrawn."})
    with transaction.atomic():
        application = lock_application(application_id)
        check_fresh(application, expected_state)
        _require_reviewer(application, actor)
        _require_editable(application)
        version = PlanVersion.objects.select_for_update().filter(application=application).open()
        version = version.first()
        if version is None or not version.is_amendment:
            raise TransitionRefused(
                "There is no amendment to withdraw; a first plan is revised, not withdrawn."
            )
        version.withdrawn_by, version.withdrawn_at = actor, timezone.now()
        version.save(update_fields=["withdrawn_by", "withdrawn_at"])
        _audit(
            application,
            actor,
            AuditAction.PLAN_WITHDRAWN,
            f"Amendment {version.number - 1} (version {version.number}) withdrawn; the plan in "
            "force is unchanged.",
            version=version,
            detail=reason.strip(),
        )
    return version
