"""The audit trail of the decisions on a case that are not state changes."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from ledger.append_only import AppendOnly
from ledger.models import Chained
from reviews.models.changes import ModelChange
from reviews.models.plans import PlanVersion
from reviews.models.signals import SafetySignal


class AuditAction(models.TextChoices):
    PLAN_DRAFTED = "plan_drafted", "Testing plan drafted"
    PLAN_REVISED = "plan_revised", "Testing plan revised"
    PLAN_SENT = "plan_sent", "Testing plan agreed by the regulator and sent"
    PLAN_AGREED = "plan_agreed", "Testing plan agreed by the manufacturer"
    PLAN_RETURNED = "plan_returned", "Testing plan returned with comments"
    PLAN_WITHDRAWN = "plan_withdrawn", "Testing plan amendment withdrawn"
    SIGNAL_STATUS = "signal_status", "Safety signal status changed"
    SIGNAL_CLOSED = "signal_closed", "Safety signal closed"
    SIGNAL_REOPENED = "signal_reopened", "Safety signal reopened"
    SIGNAL_RETRACTED = "signal_retracted", "Shared alert retracted"
    MODEL_CHANGE_NOTIFIED = "model_change", "Model change notified"
    MODEL_CHANGE_DECIDED = "model_change_decided", "Model change decided"
    MONITORING_SET_UP = "monitoring_set_up", "Post-clearance monitoring plan set up"
    MONITORING_ENDED = "monitoring_ended", "Post-clearance monitoring plan ended early"


class AuditEntry(AppendOnly, Chained):
    """Who did what, when and why, for the decisions on a case that do not change its state:
    each side's agreement to a testing plan version, a return with comments, a safety signal
    investigated, closed with its resolution, or reopened. Never edited or deleted (state
    changes have their own trail, devices.ApplicationEvent). Chained into the audit ledger."""

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="audit_entries"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    summary = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    plan_version = models.ForeignKey(
        PlanVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_entries"
    )
    signal = models.ForeignKey(
        SafetySignal, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_entries"
    )
    model_change = models.ForeignKey(
        ModelChange, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_entries"
    )
    created_at = models.DateTimeField(default=timezone.now)

    CHAIN_FIELDS = (
        "application",
        "actor",
        "action",
        "summary",
        "detail",
        "plan_version",
        "signal",
        "created_at",
    )

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.application}: {self.summary}"

    def audit_action(self) -> str:
        return self.get_action_display()

    def audit_detail(self) -> str:
        return f"{self.summary} {self.detail}".strip()

    @property
    def actor_label(self) -> str:
        return str(self.actor) if self.actor_id else "Airlock (automatically)"
