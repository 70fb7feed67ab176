"""What is said on a case: messages, and the manufacturer's checkpoint and incident reports."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from devices.models.application import Application
from devices.models.devices import ModelVersion


class Message(models.Model):
    """A message on a case that both the manufacturer and the regulator see."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_regulator = models.BooleanField()
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.application} message by {self.author}"


# --- Controlled testing: what the manufacturer reports ---------------------------------------


class CheckpointReport(models.Model):
    """The manufacturer's figures for one scheduled checkpoint."""

    checkpoint = models.OneToOneField(
        "reviews.Checkpoint", on_delete=models.PROTECT, related_name="report"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    cases_processed = models.PositiveIntegerField()
    metrics = models.JSONField(help_text='Metric values, e.g. {"sensitivity": 0.93}.')
    subgroup_metrics = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per subgroup, e.g. {"age 65+": {"sensitivity": 0.88}}.',
    )
    # The counts behind each proportion, as [successes, trials]: metrics holds the proportion
    # computed from them; the confidence interval is computed from them when read, never
    # stored. A metric reported as a bare figure (before counts were taken) has none.
    counts = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"sensitivity": [93, 100]}.'
    )
    subgroup_counts = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"age 65+": {"sensitivity": [44, 50]}}.'
    )
    incidents_count = models.PositiveIntegerField(default=0)
    narrative = models.TextField(blank=True)
    # Set by the service on every report (the version in use unless the report names one);
    # reports from before versions were recorded were given their device's first version.
    model_version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="checkpoint_reports",
    )
    # Outbox for the evaluation task: empty until thresholds have been checked.
    evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at"]

    def __str__(self) -> str:
        return f"Report for {self.checkpoint}"


class IncidentSeverity(models.TextChoices):
    PUBLIC_HEALTH_THREAT = "public_health_threat", "Serious public health threat"
    DEATH_OR_DETERIORATION = (
        "death_or_deterioration",
        "Death or unanticipated serious deterioration in health",
    )
    OTHER_SERIOUS = "other_serious", "Other serious incident"


# GB post-market surveillance (from 16 June 2025): calendar days from awareness to report.
INCIDENT_REPORT_DAYS = {
    IncidentSeverity.PUBLIC_HEALTH_THREAT: 2,
    IncidentSeverity.DEATH_OR_DETERIORATION: 10,
    IncidentSeverity.OTHER_SERIOUS: 15,
}


class IncidentReport(models.Model):
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="incidents")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    severity = models.CharField(max_length=30, choices=IncidentSeverity.choices)
    occurred_on = models.DateField()
    aware_on = models.DateField("manufacturer became aware on")
    description = models.TextField()
    actions_taken = models.TextField(blank=True)
    reported_at = models.DateTimeField(default=timezone.now)
    report_due_on = models.DateField(editable=False)
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="incidents"
    )

    class Meta:
        ordering = ["-reported_at"]

    def __str__(self) -> str:
        return f"{self.application} incident {self.occurred_on}"

    def save(self, *args, **kwargs) -> None:
        self.report_due_on = self.aware_on + timedelta(
            days=INCIDENT_REPORT_DAYS[IncidentSeverity(self.severity)]
        )
        super().save(*args, **kwargs)

    @property
    def reported_late(self) -> bool:
        return timezone.localtime(self.reported_at).date() > self.report_due_on
