"""What a testing plan says: its terms and thresholds, the rules they must meet (shared by the
forms and the services, so both say the same thing), and how its versions differ."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from devices.models import Application, ApplicationState
from reviews.judging import COUNT_METRICS
from reviews.models import (
    ChangeKind,
    Comparator,
    JudgedOn,
    Metric,
    PlanTerms,
    PlanVersion,
    PlanVersionThreshold,
    TestingPlan,
)

S = ApplicationState

# Metrics that are proportions: a threshold outside 0-1 is a typing mistake.
PROPORTION_METRICS = frozenset(Metric) - {Metric.CALIBRATION_SLOPE}
# The plan can change until testing ends; after that it is the record of what was tested.
PLAN_EDITABLE_STATES = frozenset({S.ACCEPTED, S.IN_CONTROLLED_TESTING, S.SUSPENDED})
# A start date further than this from today is a typing mistake (a wrong year), not a plan.
START_WINDOW = timedelta(days=365)
# The terms a version proposes and the plan in force holds, in the order the form asks them.
PLAN_FIELDS = tuple(field.name for field in PlanTerms._meta.fields)


@dataclass(frozen=True)
class ThresholdSpec:
    metric: str
    comparator: str
    value: Decimal
    critical_value: Decimal | None = None
    judged_on: str = JudgedOn.ESTIMATE


@dataclass(frozen=True)
class PlanDetails:
    environment: str
    starts_on: date
    ends_on: date
    cadence_days: int
    nhs_sites: str = ""
    suspend_on_critical_breach: bool = True
    notes: str = ""
    min_sample: int = 0
    allowed_change_kinds: Sequence[str] = ()
    change_evidence: str = ""
    required_subgroups: str = ""
    equity_gap_limit: Decimal | None = None
    drift_slack: Decimal = Decimal("0.01")
    drift_limit: Decimal = Decimal("0.03")
    thresholds: Sequence[ThresholdSpec] = field(default_factory=tuple)


def threshold_problem(
    *,
    metric: str,
    comparator: str,
    value: Decimal,
    critical_value: Decimal | None,
    judged_on: str = JudgedOn.ESTIMATE,
) -> tuple[str, str] | None:
    """What is wrong with one metric threshold: (the field at fault, why), or None."""
    label = Metric(metric).label
    if judged_on == JudgedOn.INTERVAL and metric not in COUNT_METRICS:
        return (
            "judged_on",
            f"{label} is not a proportion of cases, so it has no confidence interval here: "
            "judge it on the figure reported.",
        )
    if metric in PROPORTION_METRICS and not Decimal(0) <= value <= Decimal(1):
        return "value", f"{label} is a proportion: give a value between 0 and 1."
    if critical_value is None:
        return None
    if metric in PROPORTION_METRICS and not Decimal(0) <= critical_value <= Decimal(1):
        return "critical_value", f"{label} is a proportion: give a value between 0 and 1."
    if comparator == Comparator.AT_LEAST and critical_value >= value:
        return (
            "critical_value",
            "The threshold is a minimum, so the critical value must be below it.",
        )
    if comparator == Comparator.AT_MOST and critical_value <= value:
        return (
            "critical_value",
            "The threshold is a maximum, so the critical value must be above it.",
        )
    return None


def _day(value: date) -> str:
    return f"{value:%-d %B %Y}"


def plan_dates_problems(
    *,
    starts_on: date,
    ends_on: date,
    in_force: TestingPlan | None = None,
    testing_began: bool = False,
) -> dict[str, str]:
    """What is wrong with a plan's dates, by field ("starts_on", "ends_on"); empty if nothing.

    A start date must be within a year of today, and once testing has begun it cannot move;
    testing must end after it starts, no longer than the sandbox's maximum testing period
    (MAX_TESTING_DAYS) later, and not in the past. A date an amendment leaves as it was is
    not held against it.
    """
    today = timezone.localdate()
    problems = {}
    start_changed = in_force is None or starts_on != in_force.starts_on
    end_changed = in_force is None or ends_on != in_force.ends_on
    if testing_began and in_force is not None and start_changed:
        problems["starts_on"] = (
            f"Testing began under a plan starting on {_day(in_force.starts_on)}: the start date "
            "cannot change now. Change the end date or the cadence instead."
        )
    elif start_changed and not today - START_WINDOW <= starts_on <= today + START_WINDOW:
        problems["starts_on"] = (
            f"Testing must start within a year of today, between {_day(today - START_WINDOW)} "
            f"and {_day(today + START_WINDOW)}. Check the year."
        )
    longest = settings.MAX_TESTING_DAYS
    if ends_on <= starts_on:
        problems["ends_on"] = "Testing must end after it starts."
    elif (ends_on - starts_on).days > longest:
        problems["ends_on"] = (
            f"Testing can run for at most {longest} days in the sandbox; this plan runs for "
            f"{(ends_on - starts_on).days}. End it by {_day(starts_on + timedelta(days=longest))}."
        )
    elif end_changed and ends_on < today:
        problems["ends_on"] = "The end date has passed: choose today or a later date."
    return problems


def thresholds_problem(thresholds: Sequence[ThresholdSpec]) -> str | None:
    if not thresholds:
        return "Set at least one metric threshold."
    metrics = [spec.metric for spec in thresholds]
    if len(metrics) != len(set(metrics)):
        return "Set each metric's threshold once."
    for spec in thresholds:
        problem = threshold_problem(
            metric=spec.metric,
            comparator=spec.comparator,
            value=spec.value,
            critical_value=spec.critical_value,
            judged_on=spec.judged_on,
        )
        if problem:
            return f"{Metric(spec.metric).label}: {problem[1]}"
    return None


# --- Reading versions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """A plan's terms, comparable whichever model holds them."""

    environment: str
    starts_on: date
    ends_on: date
    cadence_days: int
    nhs_sites: str
    suspend_on_critical_breach: bool
    min_sample: int
    allowed_change_kinds: tuple
    change_evidence: str
    required_subgroups: str
    equity_gap_limit: Decimal | None
    drift_slack: Decimal
    drift_limit: Decimal
    notes: str
    thresholds: frozenset

    @classmethod
    def of(cls, plan, thresholds=None) -> "Terms":
        rows = plan.thresholds.all() if thresholds is None else thresholds
        terms = {name: getattr(plan, name) for name in PLAN_FIELDS}
        terms["allowed_change_kinds"] = tuple(sorted(terms["allowed_change_kinds"] or ()))
        for name in ("equity_gap_limit", "drift_slack", "drift_limit"):
            if terms[name] is not None:
                terms[name] = Decimal(terms[name]).normalize()
        return cls(
            **terms,
            thresholds=frozenset(
                (
                    t.metric,
                    t.comparator,
                    Decimal(t.value).normalize(),
                    None if t.critical_value is None else Decimal(t.critical_value).normalize(),
                    t.judged_on,
                )
                for t in rows
            ),
        )

    @classmethod
    def of_details(cls, details: PlanDetails) -> "Terms":
        return cls.of(details, details.thresholds)


def _threshold_text(comparator: str, value, critical, judged_on=JudgedOn.ESTIMATE) -> str:
    text = f"{Comparator(comparator).label} {format(value, 'f')}"
    text += f", critical beyond {format(critical, 'f')}" if critical is not None else ""
    return text + (", judged on its 95% interval" if judged_on == JudgedOn.INTERVAL else "")


def plan_changes(before: Terms | None, after: Terms) -> list[str]:
    """What a version changes, in words, compared with the terms before it."""
    if before is None:
        return []
    changes = []
    if before.environment != after.environment:
        changes.append("Environment changed.")
    if before.starts_on != after.starts_on:
        changes.append(f"Start: {_day(before.starts_on)} → {_day(after.starts_on)}.")
    if before.ends_on != after.ends_on:
        changes.append(f"End: {_day(before.ends_on)} → {_day(after.ends_on)}.")
    if before.cadence_days != after.cadence_days:
        changes.append(
            f"Checkpoints: every {before.cadence_days} days → every {after.cadence_days} days."
        )
    if before.suspend_on_critical_breach != after.suspend_on_critical_breach:
        changes.append(
            "A critical breach now suspends testing automatically."
            if after.suspend_on_critical_breach
            else "A critical breach no longer suspends testing automatically."
        )
    if before.min_sample != after.min_sample:
        changes.append(
            f"Minimum sample per checkpoint: {before.min_sample} → {after.min_sample} cases."
        )
    if before.allowed_change_kinds != after.allowed_change_kinds:
        kinds = [ChangeKind(kind).label.lower() for kind in after.allowed_change_kinds]
        changes.append(
            "Change protocol: allowed changes are now " + "; ".join(kinds) + "."
            if kinds
            else "Change protocol: no model change is allowed without a new agreement."
        )
    if before.change_evidence != after.change_evidence:
        changes.append("Change protocol: the evidence each change needs changed.")
    if before.required_subgroups != after.required_subgroups:
        changes.append("Subgroups every report must give changed.")
    if before.equity_gap_limit != after.equity_gap_limit:
        changes.append(
            f"Largest gap between subgroups: {before.equity_gap_limit or 'none'} → "
            f"{after.equity_gap_limit or 'none'}."
        )
    if (before.drift_slack, before.drift_limit) != (after.drift_slack, after.drift_limit):
        changes.append(
            f"Drift detection: slack {before.drift_slack}, limit {before.drift_limit} → "
            f"slack {after.drift_slack}, limit {after.drift_limit}."
        )
    if before.nhs_sites != after.nhs_sites:
        changes.append("NHS sites changed.")
    if before.notes != after.notes:
        changes.append("Notes changed.")
    old = {metric: rest for metric, *rest in before.thresholds}
    new = {metric: rest for metric, *rest in after.thresholds}
    for metric in Metric:
        label = metric.label
        if metric in old and metric not in new:
            changes.append(f"{label} threshold removed.")
        elif metric in new and metric not in old:
            changes.append(f"{label} threshold added: {_threshold_text(*new[metric])}.")
        elif metric in new and old[metric] != new[metric]:
            changes.append(
                f"{label}: {_threshold_text(*old[metric])} → {_threshold_text(*new[metric])}."
            )
    return changes


@dataclass(frozen=True)
class VersionRow:
    version: PlanVersion
    status: object
    changes: list[str]
    thresholds: list[PlanVersionThreshold]


def plan_history(application: Application) -> list[VersionRow]:
    """Every version of the case's plan, newest first, with its status and what it changed
    from the version agreed before it. Three queries, however many versions."""
    in_force = TestingPlan.objects.filter(application=application).values_list("version", flat=True)
    in_force_number = next(iter(in_force), None)
    versions = list(
        PlanVersion.objects.filter(application=application)
        .select_related(
            "drafted_by",
            "reviewer_agreed_by",
            "manufacturer_agreed_by",
            "returned_by",
            "withdrawn_by",
        )
        .prefetch_related("thresholds")
        .order_by("number")
    )
    rows = []
    agreed_before = None
    for version in versions:
        thresholds = list(version.thresholds.all())
        terms = Terms.of(version, thresholds)
        rows.append(
            VersionRow(
                version=version,
                status=version.status(in_force_number),
                changes=plan_changes(agreed_before, terms),
                thresholds=thresholds,
            )
        )
        if version.manufacturer_agreed_at is not None:
            agreed_before = terms
    return rows[::-1]


def open_version(application: Application) -> PlanVersion | None:
    return (
        PlanVersion.objects.filter(application=application)
        .open()
        .select_related("reviewer_agreed_by", "returned_by", "drafted_by")
        .prefetch_related("thresholds")
        .first()
    )
