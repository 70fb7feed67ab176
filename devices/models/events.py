"""The audit trail of a case's transitions."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from devices.models.application import Application
from devices.models.states import ApplicationState
from ledger.append_only import AppendOnly
from ledger.models import Chained


class ApplicationEvent(AppendOnly, Chained):
    """One audit row per transition: who, when, from, to, why. Never edited or deleted; chained
    into the audit ledger as it is written (ledger.models.Chained).

    Who was told about it is recorded in notifications.Notification (key "event:<pk>").
    """

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the system acted (a scheduled job).",
    )
    transition = models.CharField(max_length=40)
    from_state = models.CharField(max_length=30, choices=ApplicationState.choices)
    to_state = models.CharField(max_length=30, choices=ApplicationState.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    CHAIN_FIELDS = (
        "application",
        "actor",
        "transition",
        "from_state",
        "to_state",
        "reason",
        "created_at",
    )

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.application}: {self.from_state} → {self.to_state}"

    @property
    def actor_label(self) -> str:
        return str(self.actor) if self.actor_id else "Airlock (automatically)"

    def audit_action(self) -> str:
        return f"Transition: {self.transition}"

    def audit_detail(self) -> str:
        return f"{self.from_state} → {self.to_state}. {self.reason}".strip()
