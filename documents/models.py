"""Documents Airlock issues about a case: the decision and the exit report, as PDF.

Each is stored once and never changed: its SHA-256 is what the public verification page looks up
and what a case bundle lists. Issuing and revoking are chained into the audit ledger.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from airlock import storage
from ledger.models import Chained


class DocumentKind(models.TextChoices):
    EXIT_REPORT = "exit_report", "Exit report"
    CLEARED = "decision_cleared", "Decision: cleared"
    NOT_CLEARED = "decision_not_cleared", "Decision: not cleared"
    REJECTED = "decision_rejected", "Decision: rejected"


def private_storage():
    return storage.private_storage()


def document_path(instance: "CaseDocument", filename: str) -> str:
    key = uuid.uuid4().hex
    return f"documents/{key[:2]}/{key}.pdf"


class CaseDocument(Chained):
    """One issued PDF. Never edited or deleted; a document found wrong is revoked (the
    verification page then says so) and the case's next state issues its own."""

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="documents"
    )
    kind = models.CharField(max_length=30, choices=DocumentKind.choices)
    # Printed on the document: says which record it is without revealing anything.
    reference = models.CharField(max_length=40, unique=True)
    file = models.FileField(upload_to=document_path, storage=private_storage, max_length=200)
    sha256 = models.CharField("SHA-256", max_length=64, unique=True)
    size = models.PositiveBigIntegerField()
    pdf_variant = models.CharField(max_length=20, help_text="e.g. pdf/a-3b")
    issued_at = models.DateTimeField(default=timezone.now)

    CHAIN_FIELDS = ("application", "kind", "reference", "sha256", "size", "issued_at")
    AUDIT_PERSON_FIELDS = ()
    AUDIT_TIME_FIELD = "issued_at"

    class Meta:
        ordering = ["issued_at", "pk"]
        constraints = [
            # One of each per case: issuing is idempotent (a rerun task finds it there).
            models.UniqueConstraint(fields=["application", "kind"], name="document_once_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.reference}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise PermissionError("An issued document is never changed; revoke it instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("An issued document is never deleted; revoke it instead.")

    def audit_action(self) -> str:
        return f"Document issued: {self.get_kind_display()}"

    def audit_detail(self) -> str:
        return f"{self.reference}, SHA-256 {self.sha256}"

    @property
    def filename(self) -> str:
        return f"{self.application.reference}-{self.kind.replace('_', '-')}.pdf"


class DocumentRevocation(Chained):
    """A document withdrawn by an administrator, with the reason: the verification page says
    "revoked" from then on. At most one per document."""

    document = models.OneToOneField(
        CaseDocument, on_delete=models.PROTECT, related_name="revocation"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    CHAIN_FIELDS = ("document", "actor", "reason", "created_at")
    AUDIT_CASE_FIELD = None

    def __str__(self) -> str:
        return f"Revocation of {self.document}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise PermissionError("A revocation is never changed.")
        super().save(*args, **kwargs)

    def audit_action(self) -> str:
        return "Document revoked"

    def audit_detail(self) -> str:
        return f"{self.document.reference}: {self.reason}"
