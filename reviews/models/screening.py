"""Screening a case against the eligibility criteria, and what is asked and noted on the way."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class EligibilityCriterion(models.Model):
    """A screening criterion (FCA-sandbox style), managed by lead reviewers in the admin."""

    code = models.SlugField(max_length=40, unique=True)
    title = models.CharField(max_length=100)
    question = models.TextField()
    positive_indicators = models.TextField(blank=True)
    negative_indicators = models.TextField(blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "title"]
        verbose_name_plural = "eligibility criteria"

    def __str__(self) -> str:
        return self.title


class ScreeningOutcome(models.TextChoices):
    MET = "met", "Met"
    NOT_MET = "not_met", "Not met"
    UNCLEAR = "unclear", "Unclear — more information needed"


class ScreeningAssessment(models.Model):
    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="screening_assessments"
    )
    criterion = models.ForeignKey(
        EligibilityCriterion, on_delete=models.PROTECT, related_name="assessments"
    )
    outcome = models.CharField(max_length=10, choices=ScreeningOutcome.choices)
    comment = models.TextField()
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assessed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["criterion__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "criterion"], name="screening_one_per_criterion"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application}: {self.criterion} {self.outcome}"


class InformationRequest(models.Model):
    """Questions to the manufacturer. While open, the review clock is paused."""

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="information_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    questions = models.TextField()
    due_on = models.DateField()
    response = models.TextField(blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(responded_at__isnull=True),
                name="information_request_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.application} request {self.requested_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.responded_at is None


class InternalNote(models.Model):
    """A reviewers-only note on a case. Never shown to manufacturers."""

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="internal_notes"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Note on {self.application} by {self.author}"
