"""The audit trail of setting up and changing calls for applications: who made or changed a
call, when, and what changed (old and new values, in words). Imported by calls.models."""

from django.db import models
from django.utils import timezone

from ledger.append_only import AppendOnly
from ledger.models import Chained


class CallEventKind(models.TextChoices):
    CREATED = "created", "Call set up"
    CHANGED = "changed", "Call changed"


class CallEvent(AppendOnly, Chained):
    """One row per call set up or changed. Never edited or deleted; written only by
    calls.audit.call_event_record."""

    APPEND_ONLY_MESSAGE = "The calls' audit trail is append-only."

    call = models.ForeignKey("calls.Call", on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey("airlock.User", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=CallEventKind.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    # Part of the audit trail anyone can verify (ledger.models.Chained). A call is no one
    # case's: in the audit export, these rows are among those about no case.
    CHAIN_FIELDS = ("call", "actor", "kind", "detail", "created_at")
    AUDIT_CASE_FIELD = None
    AUDIT_PROGRAMME = True

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.call}: {self.get_kind_display()}"

    def audit_action(self) -> str:
        return self.get_kind_display()

    def audit_detail(self) -> str:
        return f"{self.call}: {self.detail}" if self.detail else str(self.call)
