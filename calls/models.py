"""Calls for applications: the sandbox takes applications in rounds, each seeking answers to
set regulatory challenges, open between two moments, with a number of places, and judged
against eligibility criteria and weighted selection criteria."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ledger.append_only import AppendOnly
from ledger.models import Chained


class CallQuerySet(models.QuerySet):
    def open(self, at=None) -> "CallQuerySet":
        at = at or timezone.now()
        return self.filter(opens_at__lte=at, closes_at__gt=at)


class Call(models.Model):
    """One call for applications. Applications are started and submitted against an open
    call only; those selected join the call's cohort."""

    title = models.CharField(max_length=200, unique=True)
    challenge_areas = models.TextField(
        help_text="The regulatory challenges the call seeks applications on, one a line."
    )
    opens_at = models.DateTimeField("opens")
    closes_at = models.DateTimeField(
        "closes", help_text="Submissions are refused from this moment; drafts are kept."
    )
    capacity = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1)], help_text="How many places the call offers."
    )
    eligibility_criteria = models.ManyToManyField(
        "reviews.EligibilityCriterion",
        blank=True,
        related_name="calls",
        help_text="What every application must meet, judged at screening.",
    )
    cohort = models.ForeignKey(
        "reviews.Cohort",
        on_delete=models.PROTECT,
        related_name="calls",
        help_text="Where the applications selected go.",
    )
    moderation_margin = models.PositiveSmallIntegerField(
        default=15,
        validators=[MaxValueValidator(100)],
        help_text="Two reviewers' totals further apart than this many points (of 100) are "
        "flagged for moderation.",
    )
    selection_made_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CallQuerySet.as_manager()

    class Meta:
        ordering = ["-opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")), name="call_closes_after_opening"
            )
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValidationError({"closes_at": "A call must close after it opens."})

    @property
    def is_open(self) -> bool:
        return self.opens_at <= timezone.now() < self.closes_at

    @property
    def has_closed(self) -> bool:
        return timezone.now() >= self.closes_at

    @property
    def challenge_area_list(self) -> list[str]:
        return [line.strip() for line in self.challenge_areas.splitlines() if line.strip()]

    def closed_refusal(self) -> str:
        """Why an application against this call cannot be submitted now, in words."""
        when = timezone.localtime(self.closes_at)
        if timezone.now() < self.opens_at:
            opens = timezone.localtime(self.opens_at)
            return (
                f"The call “{self}” opens on {opens:%-d %B %Y at %H:%M}: submit from then. "
                "Your draft is kept."
            )
        return (
            f"The call “{self}” closed on {when:%-d %B %Y at %H:%M}: it takes no more "
            "submissions. Your draft is kept."
        )


class SelectionCriterion(models.Model):
    """What the applications to one call are scored against, with its weight in the total."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="selection_criteria")
    title = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    weight = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="1 to 10: how much this criterion counts in the weighted total.",
    )
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["call", "order", "pk"]
        verbose_name_plural = "selection criteria"
        constraints = [
            models.UniqueConstraint(fields=["call", "title"], name="selection_criterion_unique")
        ]

    def __str__(self) -> str:
        return f"{self.title} (weight {self.weight})"


# Each selection criterion is scored 0 to SCORE_MAX; a reviewer's total is the weighted mean,
# as a percentage of the best possible, so calls with different weights compare.
SCORE_MAX = 5


class SelectionScore(models.Model):
    """One reviewer's independent scores for one application against the call's selection
    criteria. Made once and never changed: other reviewers' scores stay hidden from a
    reviewer until they have scored themselves."""

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="selection_scores"
    )
    reviewer = models.ForeignKey(
        "airlock.User", on_delete=models.PROTECT, related_name="selection_scores"
    )
    # {criterion id (as text): score 0..SCORE_MAX}
    scores = models.JSONField()
    total = models.DecimalField(
        max_digits=5, decimal_places=1, help_text="Weighted, as a percentage of the best possible."
    )
    comment = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["application", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "reviewer"], name="selection_score_once_per_reviewer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application}: {self.total}% by {self.reviewer}"


class SelectionOutcome(models.Model):
    """Where an application stands in its call's selection: a moderated total where the
    reviewers disagreed, and, once the lead reviewer has chosen, selected or not (with the
    reason the manufacturer is told)."""

    application = models.OneToOneField(
        "devices.Application", on_delete=models.PROTECT, related_name="selection_outcome"
    )
    moderated_total = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    moderation_note = models.TextField(blank=True)
    moderated_by = models.ForeignKey(
        "airlock.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    selected = models.BooleanField(null=True)
    rank = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        "airlock.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Selection of {self.application}"


class SelectionEventKind(models.TextChoices):
    SCORED = "scored", "Scored"
    MODERATED = "moderated", "Moderated"
    SELECTED = "selected", "Selected"
    NOT_SELECTED = "not_selected", "Not selected"


class SelectionEvent(AppendOnly, Chained):
    """One audit row per step of a call's selection: who scored, moderated, selected or did
    not select which application, when, and the detail. Never edited or deleted; written only
    by calls.audit.selection_event_record."""

    APPEND_ONLY_MESSAGE = "The selection audit trail is append-only."

    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="selection_events")
    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="selection_events"
    )
    actor = models.ForeignKey("airlock.User", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=SelectionEventKind.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    # Part of the audit trail anyone can verify (ledger.models.Chained).
    CHAIN_FIELDS = ("call", "application", "actor", "kind", "detail", "created_at")

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.application}: {self.get_kind_display()}"
