"""The case: one device through the sandbox, and the state machine it carries."""

from datetime import date

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

from devices.clocks import add_working_days, working_days_between
from devices.models.devices import Device
from devices.models.organisations import Organisation
from devices.models.rules import (
    CALL_OPEN,
    CLEARANCE_PROPOSED,
    DETAILS_COMPLETE,
    EVIDENCE_PRESENT,
    LEAD_COUNTERSIGNER,
    MANUFACTURER,
    NO_OPEN_SIGNALS,
    OPEN_REQUEST,
    ORGANISATION_APPROVED,
    PLAN_AGREED,
    RESUMER,
    REVIEWER,
    SCREENING_PASSED,
    transition_meta,
)
from devices.models.states import (
    CLOCK_WORKING_DAYS,
    DUE_SOON_WORKING_DAYS,
    NON_FINAL_STATES,
    ApplicationState,
    ClockStage,
    Maturity,
    S,
    SandboxEnvironment,
)


class Application(FSMModelMixin, models.Model):
    """One device's case through the sandbox."""

    reference = models.CharField(max_length=20, unique=True, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="applications"
    )
    device = models.ForeignKey(
        Device, on_delete=models.PROTECT, related_name="applications", null=True, blank=True
    )
    cohort = models.ForeignKey(
        "reviews.Cohort",
        on_delete=models.PROTECT,
        related_name="applications",
        null=True,
        blank=True,
    )
    # The call for applications this one answers; empty only on cases from before calls.
    call = models.ForeignKey(
        "calls.Call",
        on_delete=models.PROTECT,
        related_name="applications",
        null=True,
        blank=True,
        help_text="The call for applications you are applying to.",
    )
    state = FSMField(
        max_length=30,
        choices=ApplicationState.choices,
        default=ApplicationState.DRAFT,
        protected=True,
        db_index=True,
    )
    regulatory_challenge = models.TextField(
        blank=True,
        help_text="The regulatory question you want the sandbox to help answer.",
    )
    sandbox_environment = models.CharField(
        "sandbox environment sought",
        max_length=20,
        choices=SandboxEnvironment.choices,
        blank=True,
    )
    patient_benefit = models.TextField(
        "patient and NHS benefit",
        blank=True,
        help_text="The measurable benefit to patients or the NHS.",
    )
    maturity = models.CharField(max_length=20, choices=Maturity.choices, blank=True)
    nhs_sites = models.TextField(
        "NHS sites",
        blank=True,
        help_text="Trusts or practices lined up to take part, one a line.",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="assigned_applications",
        null=True,
        blank=True,
    )
    # The open critical safety signal testing was suspended under, if any: then only a lead
    # reviewer may resume it (RESUMER).
    suspended_for = models.ForeignKey(
        "reviews.SafetySignal",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    # Where an information request was raised from, so the response returns there.
    return_state = models.CharField(max_length=30, choices=ApplicationState.choices, blank=True)
    clock_stage = models.CharField(max_length=20, choices=ClockStage.choices, blank=True)
    clock_due_on = models.DateField(null=True, blank=True, db_index=True)
    clock_paused_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    state_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("act_for_organisation", "Can act for their organisation's applications")]
        indexes = [
            # The review queue filters by state and sorts by clock due date.
            models.Index(fields=["state", "clock_due_on"], name="app_state_clock_idx"),
            models.Index(fields=["assignee", "state"], name="app_assignee_state_idx"),
            # The queue's per-state counts (a GROUP BY state that leaves out the reviewer's
            # conflicted organisations, perhaps picking devices or organisations by name or
            # class) read this index alone: an index-only scan, not the whole table. Partial,
            # on the cases the regulator may see (devices.selectors.applications_for): a
            # condition on a column outside an index's own would otherwise need the table.
            models.Index(
                fields=["state", "organisation", "device"],
                name="app_queue_counts_idx",
                condition=models.Q(submitted_at__isnull=False),
            ),
            # The queue keeps its counts until the latest updated_at moves: one index read.
            models.Index(fields=["updated_at"], name="app_updated_idx"),
            # The queue's default sort (soonest clock first, no clock last: PostgreSQL's own
            # order for ASC), so a page is the first rows of an index walk, not a sort of
            # 100k rows. Its other sorts need NULLS LAST in the index, which SQLite cannot
            # declare: migration 0004 adds those on PostgreSQL only.
            models.Index(fields=["clock_due_on", "id"], name="app_queue_clock_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def state_enum(self) -> ApplicationState:
        return ApplicationState(self.state)

    @property
    def title(self) -> str:
        return f"{self.reference} · {self.device}" if self.device_id else self.reference

    # --- helpers the conditions use (reads only) ---

    def open_information_request(self):
        return self.information_requests.filter(responded_at__isnull=True).first()

    def pending_clearance(self):
        from reviews.models import DecisionKind

        return self.decisions.filter(
            kind=DecisionKind.CLEAR, countersigned_at__isnull=True, withdrawn_at__isnull=True
        ).first()

    def testing_plan_agreed(self) -> bool:
        plan = getattr(self, "testing_plan", None)
        return plan is not None and plan.agreed_at is not None and plan.thresholds.exists()

    def open_safety_signals(self) -> list:
        """Safety signals not yet closed (open or being investigated), oldest first."""
        from reviews.models import SafetySignal, SignalStatus

        return list(
            SafetySignal.objects.filter(application=self)
            .exclude(status=SignalStatus.CLOSED)
            .order_by("raised_at", "pk")
        )

    def latest_open_critical_signal(self):
        from reviews.models import SafetySignal, SignalSeverity, SignalStatus

        return (
            SafetySignal.objects.filter(application=self, severity=SignalSeverity.CRITICAL)
            .exclude(status=SignalStatus.CLOSED)
            .order_by("-raised_at", "-pk")
            .first()
        )

    def testing_shortfalls(self) -> list[str]:
        """Why completing testing now would be early, in words: the plan still has time to
        run, or checkpoints have no report. Empty when testing ran its course."""
        from reviews.models import Checkpoint, CheckpointStatus

        shortfalls = []
        plan = getattr(self, "testing_plan", None)
        today = timezone.localdate()
        if plan is not None and plan.ends_on > today:
            shortfalls.append(
                f"The agreed plan runs until {plan.ends_on:%-d %B %Y}: "
                f"{(plan.ends_on - today).days} days early."
            )
        unreported = list(
            Checkpoint.objects.filter(application=self)
            .exclude(status=CheckpointStatus.SUBMITTED)
            .order_by("sequence")
            .values_list("sequence", flat=True)
        )
        if unreported:
            numbers = ", ".join(str(n) for n in unreported)
            shortfalls.append(
                f"{len(unreported)} checkpoint{'s have' if len(unreported) > 1 else ' has'} "
                f"no report ({numbers})."
            )
        return shortfalls

    # --- clocks (pure: they only change fields on self) ---

    def _start_clock(self, stage: ClockStage, today: date) -> None:
        self.clock_stage = stage
        self.clock_due_on = add_working_days(today, CLOCK_WORKING_DAYS[stage])
        self.clock_paused_on = None

    def _stop_clock(self) -> None:
        self.clock_stage = ""
        self.clock_due_on = None
        self.clock_paused_on = None

    @property
    def clock_status(self) -> str:
        """on_track, due_soon, breached, paused, or '' when no clock runs."""
        if not self.clock_stage or self.clock_due_on is None:
            return ""
        if self.clock_paused_on is not None:
            return "paused"
        today = timezone.localdate()
        if self.clock_due_on < today:
            return "breached"
        if self.clock_due_on <= add_working_days(today, DUE_SOON_WORKING_DAYS):
            return "due_soon"
        return "on_track"

    # --- transitions ---

    @transition(
        field=state,
        source=S.DRAFT,
        target=S.SUBMITTED,
        permission=MANUFACTURER,
        conditions=[ORGANISATION_APPROVED, CALL_OPEN, DETAILS_COMPLETE, EVIDENCE_PRESENT],
        custom=transition_meta("Submit", "manufacturer"),
    )
    def submit(self) -> None:
        self.submitted_at = timezone.now()
        self._start_clock(ClockStage.SCREENING, timezone.localdate())

    @transition(
        field=state,
        source=S.SUBMITTED,
        target=S.SCREENING,
        permission=REVIEWER,
        custom=transition_meta("Start screening", "reviewer"),
    )
    def start_screening(self) -> None:
        pass

    @transition(
        field=state,
        source=[S.SCREENING, S.EVIDENCE_REVIEW],
        target=S.INFORMATION_REQUESTED,
        permission=REVIEWER,
        custom=transition_meta("Request information", "reviewer"),
    )
    def request_information(self) -> None:
        self.return_state = self.state
        # The review clock stops while the manufacturer is answering.
        if self.clock_stage and self.clock_paused_on is None:
            self.clock_paused_on = timezone.localdate()

    @transition(
        field=state,
        source=S.INFORMATION_REQUESTED,
        target=RETURN_VALUE(S.SCREENING, S.EVIDENCE_REVIEW),
        permission=MANUFACTURER,
        conditions=[OPEN_REQUEST],
        custom=transition_meta("Respond", "manufacturer"),
    )
    def respond(self) -> str:
        if self.clock_paused_on is not None and self.clock_due_on is not None:
            paused = working_days_between(self.clock_paused_on, timezone.localdate())
            self.clock_due_on = add_working_days(self.clock_due_on, paused)
            self.clock_paused_on = None
        back_to, self.return_state = self.return_state or S.SCREENING, ""
        return back_to

    @transition(
        field=state,
        source=S.SCREENING,
        target=S.REJECTED,
        permission=REVIEWER,
        custom=transition_meta("Reject", "reviewer"),
    )
    def reject(self) -> None:
        self._stop_clock()

    @transition(
        field=state,
        source=S.SCREENING,
        target=S.ACCEPTED,
        permission=REVIEWER,
        conditions=[SCREENING_PASSED],
        custom=transition_meta("Accept into the sandbox", "reviewer"),
    )
    def accept(self, *, cohort=None) -> None:
        if cohort is not None:
            self.cohort = cohort
        self._start_clock(ClockStage.PLAN, timezone.localdate())

    @transition(
        field=state,
        source=S.ACCEPTED,
        target=S.IN_CONTROLLED_TESTING,
        permission=REVIEWER,
        conditions=[PLAN_AGREED],
        custom=transition_meta("Begin controlled testing", "reviewer"),
    )
    def begin_testing(self) -> None:
        self._stop_clock()

    @transition(
        field=state,
        source=S.IN_CONTROLLED_TESTING,
        target=S.SUSPENDED,
        permission=REVIEWER,
        custom=transition_meta("Suspend testing", "reviewer"),
    )
    def suspend(self) -> None:
        self.suspended_for = self.latest_open_critical_signal()

    @transition(
        field=state,
        source=S.SUSPENDED,
        target=S.IN_CONTROLLED_TESTING,
        permission=RESUMER,
        custom=transition_meta(
            "Resume testing",
            "reviewer",
            "A lead reviewer, if suspended while a critical signal was open.",
        ),
    )
    def resume(self) -> None:
        self.suspended_for = None

    @transition(
        field=state,
        source=S.IN_CONTROLLED_TESTING,
        target=S.EVIDENCE_REVIEW,
        permission=REVIEWER,
        custom=transition_meta("Complete testing", "reviewer"),
    )
    def complete_testing(self) -> None:
        self._start_clock(ClockStage.EVIDENCE_REVIEW, timezone.localdate())

    @transition(
        field=state,
        source=S.EVIDENCE_REVIEW,
        target=S.IN_CONTROLLED_TESTING,
        permission=REVIEWER,
        custom=transition_meta("Extend testing", "reviewer"),
    )
    def extend_testing(self) -> None:
        self._stop_clock()

    @transition(
        field=state,
        source=S.EVIDENCE_REVIEW,
        target=S.CLEARED,
        permission=LEAD_COUNTERSIGNER,
        conditions=[CLEARANCE_PROPOSED, NO_OPEN_SIGNALS],
        custom=transition_meta(
            "Countersign clearance", "lead reviewer", "Four eyes: not the proposer."
        ),
    )
    def clear(self) -> None:
        self._stop_clock()

    @transition(
        field=state,
        source=S.EVIDENCE_REVIEW,
        target=S.NOT_CLEARED,
        permission=REVIEWER,
        custom=transition_meta("Do not clear", "reviewer"),
    )
    def not_clear(self) -> None:
        self._stop_clock()

    @transition(
        field=state,
        source=NON_FINAL_STATES,
        target=S.WITHDRAWN,
        permission=MANUFACTURER,
        custom=transition_meta("Withdraw", "manufacturer"),
    )
    def withdraw(self) -> None:
        self._stop_clock()


# Every transition method, in the order they appear in the life of a case.
TRANSITIONS = (
    "submit",
    "start_screening",
    "request_information",
    "respond",
    "reject",
    "accept",
    "begin_testing",
    "suspend",
    "resume",
    "complete_testing",
    "extend_testing",
    "clear",
    "not_clear",
    "withdraw",
)
