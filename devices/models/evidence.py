"""The evidence a manufacturer uploads, versioned and kept in private storage."""

import uuid

from django.conf import settings
from django.core.files.storage import Storage
from django.db import models
from django.db.models import Q
from django.utils import timezone

from airlock import storage
from devices.models.application import Application
from devices.models.states import EvidenceKind
from ledger.models import Chained


def private_storage() -> Storage:
    """Evidence storage: local disk or an object store, as settings say (airlock/storage.py).
    No URL maps to either; files are only served by a permission-checked view."""
    return storage.private_storage()


def evidence_path(instance: "EvidenceDocument", filename: str) -> str:
    """A random key that says nothing: not the uploader's file name (untrusted input), not the
    case. Two hex characters of fan-out keep any one folder of the local disk small."""
    key = uuid.uuid4().hex
    return f"evidence/{key[:2]}/{key}"


class EvidenceDocument(Chained):
    """An uploaded file. New versions supersede old ones; nothing is ever deleted. Each version
    is chained into the audit ledger as it is uploaded: its hash, size, uploader and time (not
    `is_current`, which changes when a newer version arrives, nor the storage key, which
    migrate_evidence may move)."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(max_length=30, choices=EvidenceKind.choices)
    title = models.CharField(max_length=200, blank=True)
    file = models.FileField(upload_to=evidence_path, storage=private_storage, max_length=200)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField("SHA-256", max_length=64)
    version = models.PositiveIntegerField(default=1)
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
    )
    is_current = models.BooleanField(default=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    CHAIN_FIELDS = (
        "application",
        "kind",
        "title",
        "original_name",
        "content_type",
        "size",
        "sha256",
        "version",
        "supersedes",
        "uploaded_by",
        "uploaded_at",
    )
    AUDIT_PERSON_FIELDS = ("uploaded_by",)
    AUDIT_TIME_FIELD = "uploaded_at"

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "kind", "version"], name="evidence_unique_version"
            ),
            models.UniqueConstraint(
                fields=["application", "kind"],
                condition=Q(is_current=True),
                name="evidence_one_current_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version} ({self.original_name})"

    def delete(self, *args, **kwargs):
        raise PermissionError("Evidence is never deleted; upload a new version instead.")

    def audit_action(self) -> str:
        return "Evidence uploaded"

    def audit_detail(self) -> str:
        return (
            f"{self.get_kind_display()} v{self.version}, {self.size} bytes, SHA-256 {self.sha256}"
        )
