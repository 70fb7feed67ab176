"""Safety signals: raised, notified, triaged and shared with the partner network."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from airlock.emails import send_templated
from airlock.models import User
from airlock.queue import enqueue_on_commit
from devices.models import (
    REVIEWER,
    Application,
    ApplicationState,
)
from reviews.models import (
    AlertDelivery,
    DeliveryStatus,
    PartnerRegulator,
    SafetySignal,
    SignalSource,
    SignalStatus,
)
from reviews.monitoring import SWEEP_BATCH, SWEEP_GRACE
from reviews.monitoring.recipients import ReviewerDirectory


def safety_signal_raise(
    *, actor: User, application_id: int, severity: str, title: str, description: str
) -> SafetySignal:
    """A reviewer raises a signal by hand; the assigned reviewer (if someone else) hears."""
    application = Application.objects.get(pk=application_id)
    if not REVIEWER(application, actor):
        raise PermissionError(REVIEWER.refusal(application, actor))
    with transaction.atomic():
        signal = SafetySignal.objects.create(
            application=application,
            severity=severity,
            source=SignalSource.REVIEWER,
            title=title.strip(),
            description=description.strip(),
            raised_by=actor,
        )

        enqueue_on_commit("reviews.tasks.notify_safety_signal", signal.pk)
    return signal


def safety_signal_notify(*, signal_id: int) -> int:
    """Email the reviewers concerned about one signal, once (notified_at is the outbox)."""
    with transaction.atomic():
        signal = (
            SafetySignal.objects.select_for_update(of=("self",))
            .select_related("application__device", "checkpoint_report__checkpoint", "raised_by")
            .get(pk=signal_id)
        )
        if signal.notified_at is not None:
            return 0
        application = signal.application
        recipients = ReviewerDirectory([application.assignee_id]).emails_for(application)
        if signal.raised_by_id:
            recipients = [email for email in recipients if email != signal.raised_by.email]
        sent = send_templated(
            "safety_signal",
            {
                "signal": signal,
                "application": application,
                "suspended": application.state == ApplicationState.SUSPENDED,
            },
            recipients,
        )
        signal.notified_at = timezone.now()
        signal.save(update_fields=["notified_at"])
    return sent


def pending_signals_notify() -> int:
    cutoff = timezone.now() - SWEEP_GRACE
    pending = SafetySignal.objects.filter(notified_at__isnull=True, raised_at__lt=cutoff)
    return sum(
        safety_signal_notify(signal_id=pk)
        for pk in list(pending.values_list("pk", flat=True)[:SWEEP_BATCH])
    )


def safety_signal_status_set(*, actor: User, signal_id: int, status: str) -> SafetySignal:
    with transaction.atomic():
        signal = SafetySignal.objects.select_for_update().get(pk=signal_id)
        if not REVIEWER(signal.application, actor):
            raise PermissionError(REVIEWER.refusal(signal.application, actor))
        if status not in SignalStatus.values:
            raise ValidationError({"status": "Choose a status from the list."})
        signal.status = status
        signal.save(update_fields=["status"])
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
        partners = PartnerRegulator.objects.filter(is_active=True).exclude(webhook_url="")
        already = set(signal.deliveries.values_list("partner_id", flat=True))
        new = AlertDelivery.objects.bulk_create(
            [AlertDelivery(signal=signal, partner=p) for p in partners if p.pk not in already],
            ignore_conflicts=True,
        )

        for delivery_id in AlertDelivery.objects.filter(
            signal=signal, status=DeliveryStatus.PENDING, attempts=0
        ).values_list("pk", flat=True):
            enqueue_on_commit("reviews.tasks.deliver_alert", delivery_id)
    return len(new)
