"""Safety signals: raised, notified, investigated, closed with a resolution, and shared with
the partner network."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from airlock.models import User
from airlock.queue import enqueue_on_commit
from devices.models import REVIEWER, ApplicationState
from devices.services import TransitionRefused, lock_application
from notifications import recipients
from notifications.models import NotificationKind
from notifications.services import notify
from reviews.models import (
    AlertDelivery,
    AuditAction,
    AuditEntry,
    DeliveryStatus,
    PartnerRegulator,
    SafetySignal,
    SignalSource,
    SignalStatus,
)


def signal_notify(signal: SafetySignal, *, exclude: User | None = None) -> None:
    """Tell the regulator's side about a new signal (the assigned reviewer, or the lead
    reviewers when nobody is assigned), in the transaction that raised it."""
    application = signal.application
    source = signal.get_source_display()
    if signal.raised_by_id:
        source += f" ({signal.raised_by})"
    body = [
        f"A {signal.get_severity_display().lower()} safety signal was raised on application "
        f"{application.title}.",
        "",
        signal.title,
        f"Source: {source}",
    ]
    if signal.checkpoint_report_id:
        body.append(f"Checkpoint: {signal.checkpoint_report.checkpoint.sequence}")
    body += ["", signal.description]
    if application.state == ApplicationState.SUSPENDED:
        body += ["", "Controlled testing is now suspended."]
    notify(
        recipients.reviewers(application),
        application=application,
        kind=NotificationKind.SAFETY_SIGNAL,
        key=f"signal:{signal.pk}",
        title=f"{signal.get_severity_display()} safety signal: {signal.title}",
        body="\n".join(body),
        url=reverse("reviews:signal-detail", args=[signal.pk]),
        exclude=exclude,
    )


def safety_signal_raise(
    *, actor: User, application_id: int, severity: str, title: str, description: str
) -> SafetySignal:
    """A reviewer raises a signal by hand; the case's reviewers (but the raiser) hear."""
    errors = {}
    if not title.strip():
        errors["title"] = "Give the signal a summary."
    if not description.strip():
        errors["description"] = "Say what was seen, and where."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        application = lock_application(application_id)
        if not REVIEWER(application, actor):
            raise PermissionError(REVIEWER.refusal(application, actor))
        signal = SafetySignal.objects.create(
            application=application,
            severity=severity,
            source=SignalSource.REVIEWER,
            title=title.strip(),
            description=description.strip(),
            raised_by=actor,
        )
        signal_notify(signal, exclude=actor)
    return signal


def safety_signal_status_set(
    *,
    actor: User,
    signal_id: int,
    status: str,
    findings: str = "",
    actions: str = "",
) -> SafetySignal:
    """Move a signal to investigating, closed or back to open, and audit it.

    Closing needs a written resolution: what was found and what was done. Reopening a closed
    signal clears its resolution from the signal (the audit trail keeps it) and, like an open
    signal, blocks clearance again.
    """
    if status not in SignalStatus.values:
        raise ValidationError({"status": "Choose a status from the list."})
    if status == SignalStatus.CLOSED:
        missing = {
            name: message
            for name, value, message in (
                ("findings", findings, "Say what was found before closing the signal."),
                ("actions", actions, "Say what was done before closing the signal."),
            )
            if not value.strip()
        }
        if missing:
            raise ValidationError(missing)
    with transaction.atomic():
        signal = (
            SafetySignal.objects.select_for_update(of=("self",))
            .select_related("application__organisation")
            .get(pk=signal_id)
        )
        application = signal.application
        if not REVIEWER(application, actor):
            raise PermissionError(REVIEWER.refusal(application, actor))
        if status == signal.status and status != SignalStatus.CLOSED:
            return signal
        was = signal.get_status_display().lower()
        if status == SignalStatus.CLOSED:
            action = AuditAction.SIGNAL_CLOSED
            signal.resolution_findings = findings.strip()
            signal.resolution_actions = actions.strip()
            signal.closed_by, signal.closed_at = actor, timezone.now()
            detail = f"What was found:\n{signal.resolution_findings}\n\nWhat was done:\n" + (
                signal.resolution_actions
            )
            summary = f"Safety signal “{signal.title}” closed with a resolution."
        else:
            action = (
                AuditAction.SIGNAL_REOPENED
                if signal.status == SignalStatus.CLOSED
                else AuditAction.SIGNAL_STATUS
            )
            signal.resolution_findings = signal.resolution_actions = ""
            signal.closed_by = signal.closed_at = None
            detail = ""
            summary = (
                f"Safety signal “{signal.title}” moved from {was} to "
                f"{SignalStatus(status).label.lower()}."
            )
        signal.status = status
        fields = ["status", "resolution_findings", "resolution_actions", "closed_by", "closed_at"]
        if signal.shared_at and not signal.retracted_at:
            # Partners hold this alert: they get the change as its next version.
            signal.alert_version += 1
            fields.append("alert_version")
        signal.save(update_fields=fields)
        if "alert_version" in fields:
            _queue_deliveries(signal)
        AuditEntry.objects.create(
            application=application,
            actor=actor,
            action=action,
            summary=summary[:300],
            detail=detail,
            signal=signal,
        )
    return signal


def safety_signal_share(*, actor: User, signal_id: int) -> int:
    """Share a signal with the partner network; returns how many webhook deliveries it queued.

    Steps: lock the signal; check the actor is a reviewer free of conflicts; stamp shared_at
    (it then appears in the partners' feed); create one delivery row per active partner with
    a webhook (a partner added later gets one when the signal is shared again); queue each new
    delivery after commit. The delivery sweep sends any that a dead broker held back.
    """
    with transaction.atomic():
        signal = (
            SafetySignal.objects.select_for_update(of=("self",))
            .select_related("application")
            .get(pk=signal_id)
        )
        if not REVIEWER(signal.application, actor):
            raise PermissionError(REVIEWER.refusal(signal.application, actor))
        if signal.shared_at is None:
            signal.shared_at = timezone.now()
            signal.save(update_fields=["shared_at"])
        if signal.retracted_at:
            raise TransitionRefused("A retracted alert cannot be shared again.")
        return _queue_deliveries(signal)


def _queue_deliveries(signal: SafetySignal) -> int:
    """One delivery row of the signal's current version per active partner with an inbox
    (a partner added later gets one when the signal is shared again), each queued after
    commit; returns how many rows are new. Older versions still waiting are superseded
    when their task runs."""
    partners = PartnerRegulator.objects.filter(is_active=True).exclude(webhook_url="")
    already = set(
        signal.deliveries.filter(version=signal.alert_version).values_list("partner_id", flat=True)
    )
    new = AlertDelivery.objects.bulk_create(
        [
            AlertDelivery(signal=signal, partner=p, version=signal.alert_version)
            for p in partners
            if p.pk not in already
        ],
        ignore_conflicts=True,
    )
    for delivery_id in AlertDelivery.objects.filter(
        signal=signal, version=signal.alert_version, status=DeliveryStatus.PENDING, attempts=0
    ).values_list("pk", flat=True):
        enqueue_on_commit("reviews.tasks.deliver_alert", delivery_id)
    return len(new)


def safety_signal_retract(*, actor: User, signal_id: int, reason: str) -> SafetySignal:
    """Retract a shared alert explicitly (it was raised in error): partners get a new version
    with status "retracted" and the reason. Audited; a retraction is final."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the alert is retracted."})
    with transaction.atomic():
        signal = (
            SafetySignal.objects.select_for_update(of=("self",))
            .select_related("application")
            .get(pk=signal_id)
        )
        if not REVIEWER(signal.application, actor):
            raise PermissionError(REVIEWER.refusal(signal.application, actor))
        if signal.shared_at is None:
            raise TransitionRefused("Only an alert shared with partners can be retracted.")
        if signal.retracted_at:
            raise TransitionRefused("This alert is already retracted.")
        signal.retracted_at = timezone.now()
        signal.retraction_reason = reason.strip()
        signal.alert_version += 1
        signal.save(update_fields=["retracted_at", "retraction_reason", "alert_version"])
        AuditEntry.objects.create(
            application=signal.application,
            actor=actor,
            action=AuditAction.SIGNAL_RETRACTED,
            summary=f"Alert “{signal.title}” retracted from the partner network."[:300],
            detail=signal.retraction_reason,
            signal=signal,
        )
        _queue_deliveries(signal)
    return signal
