"""Model versions under change control: a manufacturer notifies a change to the model, the
service checks it against the change protocol of the plan in force, and a change outside it
waits for a reviewer to accept it, refuse it, or (while testing runs) refuse it and suspend
testing. After clearance, changes go on being notified and checked against the same protocol
while a post-clearance monitoring plan covers the device; a cleared device has no testing to
suspend, so its held changes are accepted or refused.

The protocol (reviews.models.TestingPlan): the kinds of change allowed, the evidence each
change needs (one item a line), and performance bounds — the plan's thresholds, which the
changed model's validation figures must meet on the lower (or, for a maximum, upper) bound of
their 95% interval: a changed model proves itself, it is not given the benefit of the doubt.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from airlock.models import User
from devices.model_versions import current_model_version
from devices.models import (
    REVIEWER,
    AiType,
    Application,
    ApplicationState,
    Device,
    ModelVersion,
    contributor_refusal,
    may_contribute,
)
from devices.services import TransitionRefused, lock_application, transition_locked
from notifications import recipients
from notifications.models import NotificationKind
from notifications.services import notify
from reviews.judging import COUNT_METRICS, Verdict, figure_of, judge
from reviews.models import (
    PROTOCOL_CHANGE_KINDS,
    AuditAction,
    AuditEntry,
    ChangeDecision,
    ChangeKind,
    JudgedOn,
    ModelChange,
    ModelChangeStatus,
    TestingPlan,
)
from reviews.monitoring.after_clearance import (
    CHANGES_ELSEWHERE,
    CLEARED,
    covering_plan,
    uncovered_refusal,
)
from reviews.monitoring.reports import REPORTING_STATES, report_figures_clean

S = ApplicationState


@dataclass(frozen=True)
class ChangeDetails:
    kind: str
    version_label: str
    released_on: date
    description: str
    training_data_summary: str = ""
    sha256: str = ""
    validation_metrics: Mapping = field(default_factory=dict)
    evidence: Mapping[str, str] = field(default_factory=dict)


def evidence_required(plan: TestingPlan | None) -> list[str]:
    if plan is None:
        return []
    return [line.strip() for line in plan.change_evidence.splitlines() if line.strip()]


def _details_problems(device: Device, details: ChangeDetails) -> dict[str, str]:
    problems = {}
    if details.kind not in ChangeKind.values:
        problems["kind"] = "Choose the kind of change from the list."
    label = details.version_label.strip()
    if not label or len(label) > 50:
        problems["version_label"] = "Give the new version a label of up to 50 characters."
    elif device.model_versions.filter(label=label).exists():
        problems["version_label"] = f"Version {label} is recorded already: give the new label."
    if not details.description.strip():
        problems["description"] = "Say what changed in the model."
    sha = details.sha256.strip().lower()
    if sha and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
        problems["sha256"] = "A SHA-256 is 64 hexadecimal characters (or leave it empty)."
    return problems


def protocol_problems(
    *, device: Device, plan: TestingPlan | None, kind: str, metrics: dict, counts: dict
) -> list[str]:
    """Why a change is outside the plan's change protocol, in words; empty if within it."""
    if device.ai_type != AiType.ADAPTIVE:
        return [f"{device.name} is a locked model: any change to it is outside a change protocol."]
    if plan is None:
        return ["There is no agreed testing plan, so no change protocol."]
    problems = []
    if kind not in plan.allowed_change_kinds or kind not in PROTOCOL_CHANGE_KINDS:
        problems.append(f"“{ChangeKind(kind).label}” is not a change the protocol allows.")
    for threshold in plan.thresholds.all():
        label = threshold.get_metric_display()
        value, pair = figure_of(metrics, counts, threshold.metric)
        if value is None:
            problems.append(f"No validation figure for {label.lower()}: the bounds need one.")
            continue
        if threshold.metric in COUNT_METRICS:
            threshold = replace_judged_on(threshold)
        result = judge(threshold, value, pair, plan.min_sample)
        rule = f"{threshold.get_comparator_display()} {threshold.value.normalize()}"
        if result.verdict == Verdict.TOO_SMALL:
            problems.append(f"{label} validation is too small to judge ({result.why}).")
        elif result.verdict in (Verdict.BREACH, Verdict.CRITICAL):
            where = (
                f"{result.compared}"
                if result.interval is None
                else (f"{value}, 95% CI {result.interval.lower:.3f} to {result.interval.upper:.3f}")
            )
            problems.append(f"{label} validation ({where}) does not meet the bound: {rule}.")
    return problems


@dataclass(frozen=True)
class _IntervalThreshold:
    """A threshold read on the interval, whatever the plan says for checkpoint reports."""

    metric: str
    comparator: str
    value: object
    critical_value: object
    label: str
    comparator_label: str
    judged_on: str = JudgedOn.INTERVAL

    def get_metric_display(self) -> str:
        return self.label

    def get_comparator_display(self) -> str:
        return self.comparator_label


def replace_judged_on(threshold) -> _IntervalThreshold:
    return _IntervalThreshold(
        metric=threshold.metric,
        comparator=threshold.comparator,
        value=threshold.value,
        critical_value=threshold.critical_value,
        label=threshold.get_metric_display(),
        comparator_label=threshold.get_comparator_display(),
    )


def _audit(change: ModelChange, actor: User | None, action: str, summary: str, detail="") -> None:
    AuditEntry.objects.create(
        application=change.application,
        actor=actor,
        action=action,
        summary=summary[:300],
        detail=detail,
        model_change=change,
    )


def _tell_reviewers(change: ModelChange, title: str, body: str) -> None:
    notify(
        recipients.reviewers(change.application),
        application=change.application,
        kind=NotificationKind.MODEL_CHANGE,
        key=f"model-change:{change.pk}:{change.status}",
        title=title,
        body=body,
        url=reverse("reviews:model-change", args=[change.pk]),
    )


def _version_from(change: ModelChange, device: Device) -> ModelVersion:
    return ModelVersion.objects.create(
        device=device,
        label=change.version_label,
        released_on=change.released_on,
        changes=change.description,
        training_data_summary=change.training_data_summary,
        sha256=change.sha256,
    )


def notify_refusal(application: Application) -> str:
    """Why the case takes no model change today, in words; empty when it takes one: during
    (or suspended from) testing, and on a cleared device while a post-clearance monitoring
    plan covers it (reviews.monitoring.after_clearance)."""
    if application.state in REPORTING_STATES:
        return ""
    if application.state == CLEARED:
        if covering_plan(application) is not None:
            return ""
        return uncovered_refusal(application, subject="Model changes", elsewhere=CHANGES_ELSEWHERE)
    return (
        "Model changes are notified during controlled testing; this application is "
        f"{application.state_enum.in_words}."
    )


def decisions_open(application: Application) -> list[str]:
    """The decisions a reviewer may take on a held change: suspending testing only while
    testing runs (a suspended case is suspended already; a cleared one has none)."""
    if application.state == S.IN_CONTROLLED_TESTING:
        return list(ChangeDecision.values)
    return [ChangeDecision.ACCEPT, ChangeDecision.REFUSE]


def _suspend_refusal(application: Application) -> str:
    if application.state == CLEARED:
        return (
            "A cleared device has no testing to suspend: accept the change or refuse it. A "
            "refused change leaves the version in use as it is."
        )
    return f"Testing cannot be suspended: the application is {application.state_enum.in_words}."


def model_change_notify(*, actor: User, application_id: int, details: ChangeDetails) -> ModelChange:
    """Record a change to the model and check it against the change protocol.

    Steps: lock the case; check the actor is on its team and the case takes changes
    (`notify_refusal`: in or suspended from testing, or cleared under a running monitoring
    plan); check the details and the validation figures (ValidationError by field);
    evidence the protocol asks for and missing → refused; outside the protocol → held for a
    reviewer; within it → the new version is recorded and in use. Audit it and tell the
    reviewers, in one transaction.
    """
    with transaction.atomic():
        application = lock_application(application_id)
        # A viewer reads the case but notifies nothing: administrators and contributors only.
        if not may_contribute(actor, application.organisation_id):
            raise PermissionError(contributor_refusal(actor, application.organisation))
        refusal = notify_refusal(application)
        if refusal:
            raise TransitionRefused(refusal)
        device = Device.objects.select_for_update().get(pk=application.device_id)
        current_model_version(device)
        problems = _details_problems(device, details)
        try:
            figures = report_figures_clean(
                metrics=details.validation_metrics, subgroup_metrics={}, required=[]
            )
        except ValidationError as exc:
            problems["validation_metrics"] = " ".join(exc.message_dict["metrics"])
        if problems:
            raise ValidationError(problems)
        plan = TestingPlan.objects.filter(application=application).first()
        evidence = {
            str(item)[:200]: str(answer).strip()[:2000]
            for item, answer in details.evidence.items()
            if str(answer).strip()
        }
        missing = [item for item in evidence_required(plan) if item not in evidence]
        outside = protocol_problems(
            device=device,
            plan=plan,
            kind=details.kind,
            metrics=figures.metrics,
            counts=figures.counts,
        )
        if missing:
            status = ModelChangeStatus.REFUSED
            outside = [f"Evidence missing: {item}." for item in missing] + outside
        else:
            status = ModelChangeStatus.HELD if outside else ModelChangeStatus.RECORDED
        change = ModelChange.objects.create(
            application=application,
            kind=details.kind,
            version_label=details.version_label.strip(),
            released_on=details.released_on,
            description=details.description.strip(),
            training_data_summary=details.training_data_summary.strip(),
            sha256=details.sha256.strip().lower(),
            validation_metrics=figures.metrics,
            validation_counts=figures.counts,
            evidence=evidence,
            status=status,
            problems=outside,
            notified_by=actor,
        )
        if status == ModelChangeStatus.RECORDED:
            change.model_version = _version_from(change, device)
            change.save(update_fields=["model_version"])
        summary = f"Model change to {change.version_label} notified: {change.get_status_display()}."
        _audit(change, actor, AuditAction.MODEL_CHANGE_NOTIFIED, summary, "\n".join(outside))
        _tell_reviewers(
            change,
            f"Model change on {application.reference}: {change.get_status_display().lower()}",
            "\n".join([summary, "", change.description, "", *outside]),
        )
    return change


def model_change_decide(*, actor: User, change_id: int, decision: str, reason: str) -> ModelChange:
    """A reviewer decides a change held outside the protocol.

    Steps: lock the change and the case; check the actor reviews the case (REVIEWER: any
    reviewer without a conflict of interest with the organisation, before and after
    clearance) and the change is still held; accept (the new version is recorded and in use),
    refuse, or — only while testing runs (`decisions_open`) — refuse and suspend testing
    (through the case's own suspend transition); audit; tell the manufacturer's team.
    """
    if decision not in ChangeDecision.values:
        raise ValidationError({"decision": "Choose what to do with the change."})
    if not reason.strip():
        raise ValidationError({"reason": "Give the reason for the decision."})
    with transaction.atomic():
        change = ModelChange.objects.select_for_update().get(pk=change_id)
        application: Application = lock_application(change.application_id)
        change.application = application
        if not REVIEWER(application, actor):
            raise PermissionError(REVIEWER.refusal(application, actor))
        if change.status != ModelChangeStatus.HELD:
            raise TransitionRefused(
                f"This change is {change.get_status_display().lower()}: there is nothing to decide."
            )
        if decision not in decisions_open(application):
            raise TransitionRefused(_suspend_refusal(application))
        if decision == ChangeDecision.ACCEPT:
            change.status = ModelChangeStatus.ACCEPTED
            change.model_version = _version_from(change, application.device)
        else:
            change.status = ModelChangeStatus.REFUSED
        change.decided_by, change.decided_at = actor, timezone.now()
        change.decision_reason = reason.strip()
        change.suspended_testing = decision == ChangeDecision.SUSPEND
        change.save()
        if change.suspended_testing:
            transition_locked(
                application,
                action="suspend",
                actor=actor,
                reason=f"Model change to {change.version_label} refused: {change.decision_reason}",
                confirmed=True,
            )
        words = {
            ChangeDecision.ACCEPT: "accepted",
            ChangeDecision.REFUSE: "refused",
            ChangeDecision.SUSPEND: "refused, and testing suspended",
        }[decision]
        summary = f"Model change to {change.version_label} {words}."
        _audit(change, actor, AuditAction.MODEL_CHANGE_DECIDED, summary, change.decision_reason)
        notify(
            recipients.team(application.organisation_id),
            application=application,
            kind=NotificationKind.MODEL_CHANGE,
            key=f"model-change:{change.pk}:{change.status}",
            title=f"Model change on {application.reference} {words}",
            body=f"{summary}\n\n{change.decision_reason}",
            url=reverse("devices:model-changes", args=[application.pk]),
        )
    return change
