"""Cohorts, the reviewers assigned to a case, and the conflicts of interest that keep one off it."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Cohort(models.Model):
    name = models.CharField(max_length=100, unique=True)
    starts_on = models.DateField()
    ends_on = models.DateField()
    capacity = models.PositiveSmallIntegerField(
        default=7, help_text="How many applications the cohort can take."
    )
    is_open = models.BooleanField(default=True, help_text="Open cohorts can accept applications.")

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gt=models.F("starts_on")), name="cohort_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ConflictOfInterest(models.Model):
    """A reviewer's declared interest in an organisation: they cannot work its cases."""

    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conflicts"
    )
    organisation = models.ForeignKey(
        "devices.Organisation", on_delete=models.CASCADE, related_name="conflicts"
    )
    reason = models.TextField()
    declared_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-declared_at"]
        constraints = [
            models.UniqueConstraint(fields=["reviewer", "organisation"], name="coi_unique")
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} ↔ {self.organisation}"


class Assignment(models.Model):
    """Who worked a case, and when. The current one also sits on Application.assignee."""

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="assignments"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-assigned_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(ended_at__isnull=True),
                name="assignment_one_current",
            )
        ]

    def __str__(self) -> str:
        return f"{self.application} → {self.reviewer}"
