"""The programme report of a cohort: what a regulator publishes at the end of a phase.

Its cases and their outcomes, how long cases spent in each stage (from the transitions' audit
rows), the review clocks met and breached (from the clock sweep's breach notices and the clocks
still running), the safety signals, and the findings grouped by theme. Read in a fixed number of
queries whatever the size of the cohort. Fields named in settings.PROGRAMME_REPORT_CONFIDENTIAL
are left out (the page and the PDF render the same context).
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone

from airlock.models import User
from devices.models import (
    FINAL_STATES,
    Application,
    ApplicationEvent,
    ApplicationState,
    ClockStage,
)
from findings.models import Finding, Theme
from findings.selectors import cases_with_findings_for
from reviews.models import ClockNotice, ClockNoticeKind, Cohort, SafetySignal, SignalSeverity

# The transition that starts each review clock (devices.models.Application).
CLOCK_STARTS = {
    "submit": ClockStage.SCREENING,
    "accept": ClockStage.PLAN,
    "complete_testing": ClockStage.EVIDENCE_REVIEW,
}
DAY = 86400


@dataclass
class StageTime:
    state: ApplicationState
    cases: int
    median_days: float
    longest_days: float


@dataclass
class ClockTally:
    stage: ClockStage
    met: int = 0
    breached: int = 0
    running: int = 0


@dataclass
class ThemeGroup:
    name: str
    summary: str
    findings: list[Finding] = field(default_factory=list)


def hidden_fields() -> list[str]:
    return list(settings.PROGRAMME_REPORT_CONFIDENTIAL)


def _stage_times(events: list[tuple], cases: dict[int, Application], now: datetime) -> list:
    """Days each case spent in each state it passed through (a state entered twice counts
    once, summed), then per state the median and the longest across the cohort."""
    spent: dict[int, Counter] = defaultdict(Counter)
    entered: dict[int, tuple[str, datetime]] = {}
    for application_id, to_state, at in events:
        if application_id in entered:
            state, since = entered[application_id]
            spent[application_id][state] += (at - since).total_seconds() / DAY
        entered[application_id] = (to_state, at)
    for application_id, (state, since) in entered.items():
        if state not in FINAL_STATES and cases[application_id].state == state:
            spent[application_id][state] += (now - since).total_seconds() / DAY
    rows = []
    for state in ApplicationState:
        if state == ApplicationState.DRAFT or state in FINAL_STATES:
            continue
        days = [per_case[state] for per_case in spent.values() if state in per_case]
        if days:
            rows.append(StageTime(state, len(days), round(median(days), 1), round(max(days), 1)))
    return rows


def _clocks(
    events: list[tuple], cases: dict[int, Application], breaches: set[tuple[int, str]]
) -> list[ClockTally]:
    """Per review clock: how many cases met it, breached it (the sweep sent a breach notice,
    or it is running past its due date) or are still on it."""
    started = {(pk, CLOCK_STARTS[t]) for pk, t in events if t in CLOCK_STARTS}
    tallies = {stage: ClockTally(stage) for stage in ClockStage}
    for pk, stage in started:
        application = cases[pk]
        running = application.clock_stage == stage
        if (pk, stage) in breaches or (running and application.clock_status == "breached"):
            tallies[stage].breached += 1
        elif running:
            tallies[stage].running += 1
        else:
            tallies[stage].met += 1
    return list(tallies.values())


def _theme_groups(findings: list[Finding]) -> list[ThemeGroup]:
    groups: dict[int, ThemeGroup] = {}
    unthemed = ThemeGroup("Not yet in a theme", "")
    for finding in findings:
        themes = list(finding.themes.all())
        for theme in themes:
            groups.setdefault(theme.pk, ThemeGroup(theme.name, theme.summary)).findings.append(
                finding
            )
        if not themes:
            unthemed.findings.append(finding)
    ordered = sorted(groups.values(), key=lambda group: group.name.lower())
    return ordered + ([unthemed] if unthemed.findings else [])


def programme_report(user: User | None, cohort: Cohort, hidden: list[str] | None = None) -> dict:
    """The report's context for `user` (their view of the cohort: a reviewer conflicted with
    an organisation sees none of its cases), or for the whole cohort with `user=None` (the PDF,
    drawn for a lead with no conflict in the cohort). `hidden` overrides the setting (a PDF
    keeps the fields left out when it was asked for). Six queries, besides the reader's
    permissions."""
    now = timezone.now()
    scope = Application.objects.all() if user is None else cases_with_findings_for(user)
    cases = {
        application.pk: application
        for application in scope.filter(cohort=cohort, submitted_at__isnull=False)
        .exclude(state=ApplicationState.DRAFT)
        .select_related("device", "organisation")
        .order_by("reference")
    }
    events = list(
        ApplicationEvent.objects.filter(application_id__in=cases)
        .order_by("application_id", "created_at", "pk")
        .values_list("application_id", "to_state", "created_at", "transition")
    )
    breaches = set(
        ClockNotice.objects.filter(
            application_id__in=cases, kind=ClockNoticeKind.BREACH
        ).values_list("application_id", "stage")
    )
    signals = list(
        SafetySignal.objects.filter(application_id__in=cases)
        .select_related("application")
        .order_by("raised_at", "pk")
    )
    themes = Theme.objects.order_by("name")
    findings = list(
        Finding.objects.filter(application_id__in=cases)
        .select_related("application", "challenge_area", "recorded_by", "evidence", "checkpoint")
        .prefetch_related(Prefetch("themes", queryset=themes))
        .order_by("challenge_area__name", "recorded_at", "pk")
    )
    outcomes = Counter(application.state for application in cases.values())
    hidden = hidden_fields() if hidden is None else hidden
    return {
        "cohort": cohort,
        "generated_at": now,
        "hidden": hidden,
        "hidden_labels": [
            settings.PROGRAMME_REPORT_FIELDS[name]
            for name in hidden
            if name in settings.PROGRAMME_REPORT_FIELDS
        ],
        "show": {name: name not in hidden for name in settings.PROGRAMME_REPORT_FIELDS},
        "cases": list(cases.values()),
        "outcomes": [(state, outcomes[state]) for state in ApplicationState if outcomes[state]],
        "stage_times": _stage_times([e[:3] for e in events], cases, now),
        "clocks": _clocks([(e[0], e[3]) for e in events], cases, breaches),
        "signals": signals,
        "signal_counts": [
            (severity, sum(1 for signal in signals if signal.severity == severity))
            for severity in SignalSeverity
        ],
        "theme_groups": _theme_groups(findings),
        "finding_count": len(findings),
        "areas": Counter(finding.challenge_area.name for finding in findings).most_common(),
    }
