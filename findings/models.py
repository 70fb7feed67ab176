"""The regulatory gap register and the programme report.

Reviewers record `Finding`s on a case as they work: a gap or lesson, tagged with a
`ChallengeArea` (the list administrators keep), where it came from and what it suggests. Lead
reviewers curate findings into `Theme`s; a cohort's `ProgrammeReport` groups its findings by
theme beside the cases, their outcomes, clocks and signals.

Findings and themes are edited, so their history is kept in two append-only trails chained into
the audit ledger: `FindingEvent` (about a case: recorded, edited, linked, put in or taken out of
a theme) and `ProgrammeEvent` (about no case: a theme created or edited, a report drawn).
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from airlock import storage
from ledger.append_only import AppendOnly
from ledger.models import Chained


class ChallengeArea(models.Model):
    """A regulatory challenge the programme looks into (seeded by migration 0002 with the
    AI Airlock's pilot and phase 2 areas; administrators keep the list in the admin)."""

    name = models.CharField(max_length=120, unique=True)
    phase = models.CharField(max_length=40, blank=True, help_text="e.g. Pilot, Phase 2")
    description = models.TextField(blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Inactive areas stay on old findings but are not offered."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Suggestion(models.TextChoices):
    GUIDANCE = "guidance", "Guidance"
    STANDARD = "standard", "A standard"
    LEGISLATION = "legislation", "Legislation"
    NONE = "none", "Nothing yet"


class Finding(models.Model):
    """A gap or lesson a reviewer found on a case. Internal to the regulator: never shown to
    manufacturers or observers, and, like the case, not to reviewers conflicted with its
    organisation."""

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="findings"
    )
    title = models.CharField(max_length=200)
    description = models.TextField()
    challenge_area = models.ForeignKey(
        ChallengeArea, on_delete=models.PROTECT, related_name="findings"
    )
    suggests = models.CharField(max_length=20, choices=Suggestion.choices)
    # Where it came from, if anywhere in particular: both must be the same case's
    # (findings.services refuses anything else).
    evidence = models.ForeignKey(
        "devices.EvidenceDocument",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="findings",
    )
    checkpoint = models.ForeignKey(
        "reviews.Checkpoint",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="findings",
    )
    # The same gap seen on other cases: symmetrical, so each side lists the other.
    related = models.ManyToManyField("self", blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class Theme(models.Model):
    """Findings a lead reviewer has gathered under one heading (a finding may sit in several)."""

    name = models.CharField(max_length=200, unique=True)
    summary = models.TextField(blank=True)
    findings = models.ManyToManyField(Finding, blank=True, related_name="themes")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def private_storage():
    return storage.private_storage()


def report_path(instance: "ProgrammeReport", filename: str) -> str:
    key = uuid.uuid4().hex
    return f"programme-reports/{key[:2]}/{key}.pdf"


class ProgrammeReport(models.Model):
    """One PDF of a cohort's programme report, asked for by a lead reviewer and drawn by the
    documents worker (findings.tasks). The fields it left out are kept with it, since the
    setting may change between drawings."""

    cohort = models.ForeignKey(
        "reviews.Cohort", on_delete=models.PROTECT, related_name="programme_reports"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    hidden_fields = models.JSONField(default=list)
    file = models.FileField(
        upload_to=report_path, storage=private_storage, max_length=200, blank=True
    )
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    drawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"Programme report for {self.cohort} ({self.requested_at:%d %b %Y %H:%M})"

    @property
    def filename(self) -> str:
        return f"programme-report-{self.cohort_id}-{self.pk}.pdf"


class FindingEventKind(models.TextChoices):
    RECORDED = "recorded", "Finding recorded"
    EDITED = "edited", "Finding edited"
    LINKED = "linked", "Finding linked"
    UNLINKED = "unlinked", "Finding unlinked"
    THEMED = "themed", "Finding put in a theme"
    UNTHEMED = "unthemed", "Finding taken out of a theme"


class FindingEvent(AppendOnly, Chained):
    """One audit row per change to a finding. Written only by findings.audit."""

    APPEND_ONLY_MESSAGE = "The findings audit trail is append-only."

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="finding_events"
    )
    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="events")
    theme = models.ForeignKey(
        Theme, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=FindingEventKind.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    CHAIN_FIELDS = ("application", "finding", "theme", "actor", "kind", "detail", "created_at")

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.application}: {self.get_kind_display()}"

    def audit_action(self) -> str:
        return self.get_kind_display()

    def audit_detail(self) -> str:
        return self.detail


class ProgrammeEventKind(models.TextChoices):
    THEME_CREATED = "theme_created", "Theme created"
    THEME_EDITED = "theme_edited", "Theme edited"
    REPORT_REQUESTED = "report_requested", "Programme report asked for"


class ProgrammeEvent(AppendOnly, Chained):
    """One audit row per change that names no case: themes and programme reports."""

    APPEND_ONLY_MESSAGE = "The programme audit trail is append-only."

    theme = models.ForeignKey(
        Theme, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    report = models.ForeignKey(
        ProgrammeReport, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=ProgrammeEventKind.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    CHAIN_FIELDS = ("theme", "report", "actor", "kind", "detail", "created_at")
    AUDIT_CASE_FIELD = None
    AUDIT_PROGRAMME = True

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.get_kind_display()

    def audit_action(self) -> str:
        return self.get_kind_display()

    def audit_detail(self) -> str:
        return self.detail
