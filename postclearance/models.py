"""Post-clearance monitoring plans: a cleared device goes on reporting real-world figures,
with the checkpoints, reminders, evaluation, signals and partner sharing of controlled
testing, until its plan ends.

A plan is its own record with its own status rather than a state after "cleared": clearance
is final, and monitoring is work done on a cleared device, not a step towards a decision.
Its checkpoints are the case's ordinary checkpoints (reviews.Checkpoint.monitoring_plan names
the plan), so the sweep, the report forms and the API serve both.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from reviews.models import Comparator, JudgedOn, Metric


class MonitoringStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    # Ran to its end date; recorded when the next plan is set up (until then the dates say so).
    FINISHED = "finished", "Finished"
    ENDED_EARLY = "ended_early", "Ended early"


class MonitoringPlan(models.Model):
    """What a cleared device reports after clearance, how often, and what it is judged on.

    Its terms mirror the testing plan's (thresholds, minimum sample, required subgroups,
    equity and drift settings), so report evaluation reads either the same way. There is no
    automatic suspension: a cleared device has no testing to suspend, so a critical breach
    raises a critical signal for the regulator to act on.
    """

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="monitoring_plans"
    )
    status = models.CharField(
        max_length=12, choices=MonitoringStatus.choices, default=MonitoringStatus.ACTIVE
    )
    starts_on = models.DateField("monitoring starts on")
    ends_on = models.DateField("monitoring ends on")
    cadence_days = models.PositiveSmallIntegerField(help_text="Days between checkpoints.")
    min_sample = models.PositiveIntegerField("minimum sample per checkpoint", default=0)
    required_subgroups = models.TextField(blank=True)
    equity_gap_limit = models.DecimalField(
        "largest gap between subgroups", max_digits=5, decimal_places=4, null=True, blank=True
    )
    drift_slack = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.01"))
    drift_limit = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.03"))
    notes = models.TextField(blank=True)
    set_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    set_up_at = models.DateTimeField(default=timezone.now)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-set_up_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gt=models.F("starts_on")),
                name="monitoring_plan_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(cadence_days__gte=1), name="monitoring_plan_cadence_positive"
            ),
            # Two lead reviewers setting up a plan at once: the second is refused by the
            # service (it locks the case), and by this index if anything writes around it.
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(status="active"),
                name="monitoring_plan_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"Post-clearance monitoring plan for {self.application}"

    def status_on(self, day) -> MonitoringStatus:
        """The plan's status as people read it: an active plan past its end date has finished,
        whether or not the next plan has recorded so yet."""
        if self.status == MonitoringStatus.ACTIVE and self.ends_on < day:
            return MonitoringStatus.FINISHED
        return MonitoringStatus(self.status)

    @property
    def status_label(self) -> str:
        return self.status_on(timezone.localdate()).label

    @property
    def is_running(self) -> bool:
        return self.status_on(timezone.localdate()) == MonitoringStatus.ACTIVE

    def subgroups(self) -> list[str]:
        return [line.strip() for line in self.required_subgroups.splitlines() if line.strip()]


class MonitoringThreshold(models.Model):
    """One metric's threshold under a monitoring plan, read by evaluation exactly as a
    testing plan's (reviews.MetricThreshold)."""

    plan = models.ForeignKey(MonitoringPlan, on_delete=models.CASCADE, related_name="thresholds")
    metric = models.CharField(max_length=30, choices=Metric.choices)
    comparator = models.CharField(
        max_length=3, choices=Comparator.choices, default=Comparator.AT_LEAST
    )
    value = models.DecimalField(max_digits=6, decimal_places=4)
    critical_value = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    judged_on = models.CharField(max_length=10, choices=JudgedOn.choices, default=JudgedOn.ESTIMATE)

    class Meta:
        ordering = ["metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "metric"], name="monitoring_threshold_one_per_metric"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_metric_display()} {self.get_comparator_display()} {self.value}"
