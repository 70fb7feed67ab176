"""Reads for the review workspace, always scoped through `devices.selectors.applications_for`
(reviewers never see organisations they are conflicted with, nor manufacturers' drafts)."""

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import date

from django.core.cache import cache
from django.db import connection, models
from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When
from django.utils import timezone

from airlock.models import User
from devices.clocks import add_working_days
from devices.models import (
    DUE_SOON_WORKING_DAYS,
    Application,
    ApplicationState,
    Device,
    Organisation,
)
from devices.selectors import applications_for
from devices.state_counts import state_counts_for
from reviews.models import (
    ConflictOfInterest,
    Decision,
    DecisionKind,
    EligibilityCriterion,
    EvidenceAssessment,
    GmlpPrinciple,
    GmlpRating,
    InformationRequest,
    MetricThreshold,
    ScreeningAssessment,
    ScreeningOutcome,
    TestingPlan,
)
from reviews.plan_terms import plan_history
from reviews.safety import SafetyRecord, safety_record

S = ApplicationState
QUEUE_STATES = [state for state in S if state != S.DRAFT]
REFERENCE_PREFIX = "AIA-"
# Text that could be part of a reference: digits, perhaps with dashes ("0042", "2026-004").
REFERENCE_PART = re.compile(r"[0-9][0-9-]*|-[0-9-]+")
# The longest the queue reuses its counts and rendered rows. A change to an application makes
# them stale at once (see queue_version); this bounds the rest, which does not stamp an
# application's updated_at: a renamed organisation or reviewer, a new cohort in the menu.
QUEUE_CACHE_SECONDS = 60


class ClockStatus(models.TextChoices):
    """The review clock's status as a badge: words and a colour, never colour alone."""

    ON_TRACK = "on_track", "On track"
    DUE_SOON = "due_soon", "Due soon"
    BREACHED = "breached", "Breached"
    PAUSED = "paused", "Paused"
    NONE = "none", "No clock running"

    @property
    def tag(self) -> str:
        return CLOCK_TAGS[self]


CLOCK_TAGS = {
    ClockStatus.ON_TRACK: "govuk-tag--green",
    ClockStatus.DUE_SOON: "govuk-tag--yellow",
    ClockStatus.BREACHED: "govuk-tag--red",
    ClockStatus.PAUSED: "govuk-tag--grey",
    ClockStatus.NONE: "govuk-tag--grey",
}


def clock_status_expression(today: date) -> Case:
    """The same rules as `Application.clock_status`, evaluated by the database so the queue
    can filter and count on it without loading rows."""
    due_soon_by = add_working_days(today, DUE_SOON_WORKING_DAYS)
    return Case(
        When(Q(clock_stage="") | Q(clock_due_on__isnull=True), then=Value(ClockStatus.NONE)),
        When(clock_paused_on__isnull=False, then=Value(ClockStatus.PAUSED)),
        When(clock_due_on__lt=today, then=Value(ClockStatus.BREACHED)),
        When(clock_due_on__lte=due_soon_by, then=Value(ClockStatus.DUE_SOON)),
        default=Value(ClockStatus.ON_TRACK),
        output_field=CharField(),
    )


# --- The queue -------------------------------------------------------------------------------

SORTS = {
    "clock": ("Clock due date, soonest first", [F("clock_due_on").asc(nulls_last=True), "pk"]),
    "-clock": ("Clock due date, latest first", [F("clock_due_on").desc(nulls_last=True), "pk"]),
    "-submitted": ("Most recently submitted", [F("submitted_at").desc(nulls_last=True), "-pk"]),
    "reference": ("Reference", ["reference"]),
}


@dataclass(frozen=True)
class QueueFilters:
    q: str = ""
    state: str = ""
    mdr_class: str = ""
    imdrf_category: str = ""
    clinical_area: str = ""
    cohort_id: int | None = None
    # "", "me", "none" (unassigned) or a reviewer's id.
    assignee: str = ""
    clock: str = ""
    sort: str = "clock"


# The filters of the queue as it opens: what the kept per-state counts answer for.
UNFILTERED = QueueFilters(sort="")


def _search(q: str) -> Q:
    """What the queue's search box matches, shaped so no query compares text on 100k rows.

    A reference (or its start: references are AIA-YYYY-NNNN, stored in capitals) is a prefix
    match that walks the reference index. Anything else is looked for in the names of the few
    hundred devices and organisations first, and the cases picked by their ids; references
    are only searched within when the text could be part of one ("0042").
    """
    text = q.upper()
    # "AIA" alone (or less) is the start of every reference, so it matches them all.
    if text.startswith(REFERENCE_PREFIX) or REFERENCE_PREFIX.startswith(text):
        return Q(reference__startswith=text)
    matches = Q(device__in=Device.objects.filter(name__icontains=q)) | Q(
        organisation__in=Organisation.objects.filter(name__icontains=q)
    )
    if REFERENCE_PART.fullmatch(q):
        matches |= Q(reference__icontains=q)
    return matches


def _filtered(user: User, filters: QueueFilters, *, with_state: bool) -> QuerySet[Application]:
    applications = (
        applications_for(user)
        .exclude(state=S.DRAFT)
        .annotate(clock_state=clock_status_expression(timezone.localdate()))
    )
    if filters.q:
        applications = applications.filter(_search(filters.q))
    if with_state and filters.state:
        applications = applications.filter(state=filters.state)
    if filters.mdr_class:
        applications = applications.filter(device__mdr_class=filters.mdr_class)
    if filters.imdrf_category:
        applications = applications.filter(device__imdrf_category=filters.imdrf_category)
    if filters.clinical_area:
        applications = applications.filter(device__clinical_area=filters.clinical_area)
    if filters.cohort_id:
        applications = applications.filter(cohort_id=filters.cohort_id)
    if filters.assignee == "me":
        applications = applications.filter(assignee=user)
    elif filters.assignee == "none":
        applications = applications.filter(assignee__isnull=True)
    elif filters.assignee:
        applications = applications.filter(assignee_id=filters.assignee)
    if filters.clock:
        applications = applications.filter(clock_state=filters.clock)
    return applications


def review_queue(*, user: User, filters: QueueFilters) -> QuerySet[Application]:
    """The filtered, sorted queue. Every related row a queue line shows is joined in, so the
    page costs the same number of queries whatever its size."""
    _, ordering = SORTS.get(filters.sort, SORTS["clock"])
    return (
        _filtered(user, filters, with_state=True)
        .select_related("device", "organisation", "cohort", "assignee")
        .order_by(*ordering)
    )


def reviewer_menu() -> list[tuple[str, str]]:
    """The reviewers as menu choices (id, name): one query, shared by the queue's assignee
    filter and its bulk-assignment menu."""
    return [(str(user.pk), str(user)) for user in reviewers().only("full_name", "email")]


# The queue's version as rows (a, b): the latest change to any application (a read of the
# updated_at index), then one row per organisation {person} is conflicted with. Plain SQL
# because the ORM took longer to build it than the database took to answer; text columns, so
# the session's own query can make it too (airlock.sessions.read_with_session).
QUEUE_VERSION_SQL = (
    f"SELECT CAST(MAX(updated_at) AS TEXT) AS a, NULL AS b FROM {Application._meta.db_table} "
    f"UNION ALL SELECT NULL, CAST(organisation_id AS TEXT) "
    f"FROM {ConflictOfInterest._meta.db_table} WHERE reviewer_id = {{person}}"
)


def queue_version(user: User, rows: list[tuple] | None = None) -> str:
    """Names the queue's data as `user` sees it now: the day (clock statuses move with it),
    the latest change to any application (every transition, assignment and edit stamps
    updated_at) and the organisations the user is conflicted with.

    `rows` are QUEUE_VERSION_SQL's for `user` when the session's query has read them with
    the session (airlock.sessions.page_read); else they are read here (one query).

    A page (and a filtered view's counts) kept under one version is as fresh as the database
    for as long as it holds. When it moves, the queue checks the page's own rows before
    drawing it again (reviews.views.queue).
    """
    if rows is None:
        with connection.cursor() as cursor:
            cursor.execute(QUEUE_VERSION_SQL.format(person="%s"), [user.pk])
            rows = cursor.fetchall()
    # UNION ALL promises no order: the first row is told apart by having no organisation.
    last_change = next(last for last, organisation in rows if organisation is None)
    conflicts = sorted(organisation for _, organisation in rows if organisation is not None)
    scope = repr((timezone.localdate(), last_change, conflicts))
    return hashlib.sha256(scope.encode()).hexdigest()[:40]


def queue_state_counts(
    *, user: User, filters: QueueFilters, version: str | None = None
) -> list[tuple[ApplicationState, int]]:
    """How many cases each state holds under every filter but the state one.

    With no other filter (the queue as a reviewer opens it) they are the kept counts, read
    fresh each time: one query over a few rows per organisation (devices/state_counts.py).
    Under filters they are one GROUP BY, kept per user, filters and `version` (see
    queue_version), QUEUE_CACHE_SECONDS at most.
    """
    # Neither the state filter nor the sort changes the counts.
    unstated = replace(filters, state="", sort="")
    if unstated == UNFILTERED:
        counts = state_counts_for(user)
        return [(state, counts.get(state, 0)) for state in QUEUE_STATES]
    scope = repr(unstated)
    digest = hashlib.sha256(scope.encode()).hexdigest()[:40]
    key = f"queue-counts:{user.pk}:{version or queue_version(user)}:{digest}"
    counts = cache.get(key)
    if counts is None:
        counts = dict(
            _filtered(user, filters, with_state=False)
            .order_by()
            .values_list("state")
            # COUNT(*), not COUNT(id): the id is not in the app_queue_counts_idx index, and
            # needing it would turn the index-only scan into a read of the whole table.
            .annotate(n=Count("*"))
        )
        cache.set(key, counts, QUEUE_CACHE_SECONDS)
    return [(state, counts.get(state, 0)) for state in QUEUE_STATES]


def queue_total(state_counts: list[tuple[ApplicationState, int]], filters: QueueFilters) -> int:
    """How many cases the queue lists, from its per-state counts: they are taken under every
    other filter, so the total is their sum, or the one state's count when filtered by state.
    This spares the paginator a COUNT(*) over the whole queue."""
    return sum(count for state, count in state_counts if filters.state in ("", state))


def reviewers() -> QuerySet[User]:
    """Active people who work the queue: those whose role (or own grant) gives the review
    workspace permission."""
    codename, app_label = "access_review_workspace", "airlock"
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(
                groups__permissions__codename=codename,
                groups__permissions__content_type__app_label=app_label,
            )
            | Q(
                user_permissions__codename=codename,
                user_permissions__content_type__app_label=app_label,
            )
        )
        .distinct()
        .order_by("full_name", "email")
    )


# --- My work ---------------------------------------------------------------------------------

HOME_LIST_LIMIT = 10


@dataclass(frozen=True)
class MyWork:
    assigned: list[Application]
    unassigned_new: list[Application]
    unassigned_total: int
    requests_due_soon: list[InformationRequest]
    pending_countersignatures: list[Decision]


def my_work(*, user: User) -> MyWork:
    today = timezone.localdate()
    visible = applications_for(user).exclude(state=S.DRAFT)
    assigned = list(
        visible.filter(assignee=user)
        .exclude(state__in=[S.CLEARED, S.NOT_CLEARED, S.REJECTED, S.WITHDRAWN])
        .select_related("device", "organisation")
        .order_by(F("clock_due_on").asc(nulls_last=True), "pk")
    )
    new = visible.filter(state=S.SUBMITTED, assignee__isnull=True)
    requests = list(
        InformationRequest.objects.filter(
            application__in=visible,
            responded_at__isnull=True,
            due_on__lte=add_working_days(today, DUE_SOON_WORKING_DAYS),
        )
        .select_related("application__device", "application__assignee")
        .order_by("due_on", "pk")[:HOME_LIST_LIMIT]
    )
    pending = []
    if user.has_perm("airlock.lead_review"):
        pending = list(pending_clearances(user=user)[:HOME_LIST_LIMIT])
    return MyWork(
        assigned=assigned,
        unassigned_new=list(
            new.select_related("device", "organisation").order_by(
                F("clock_due_on").asc(nulls_last=True), "pk"
            )[:HOME_LIST_LIMIT]
        ),
        unassigned_total=new.count(),
        requests_due_soon=requests,
        pending_countersignatures=pending,
    )


def pending_clearances(*, user: User) -> QuerySet[Decision]:
    """Proposed clearances the user could countersign: not their own, not conflicted."""
    return (
        Decision.objects.filter(
            application__in=applications_for(user),
            application__state=S.EVIDENCE_REVIEW,
            kind=DecisionKind.CLEAR,
            countersigned_at__isnull=True,
            withdrawn_at__isnull=True,
        )
        .exclude(decided_by=user)
        .select_related("application__device", "application__organisation", "decided_by")
        .order_by("decided_at", "pk")
    )


def conflicts_of(*, user: User) -> QuerySet[ConflictOfInterest]:
    return ConflictOfInterest.objects.filter(reviewer=user).select_related("organisation")


# --- One case --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionRow:
    criterion: EligibilityCriterion
    assessment: ScreeningAssessment | None


def screening_rows(application: Application) -> list[CriterionRow]:
    """Each criterion the case is screened against (its call's, else every active one) with
    this case's assessment of it, if any."""
    assessments = {
        a.criterion_id: a
        for a in application.screening_assessments.select_related("assessor", "criterion")
    }
    return [
        CriterionRow(criterion, assessments.get(criterion.pk))
        for criterion in EligibilityCriterion.objects.for_application(application)
    ]


@dataclass(frozen=True)
class PrincipleRow:
    principle: GmlpPrinciple
    assessment: EvidenceAssessment | None


def gmlp_rows(application: Application) -> list[PrincipleRow]:
    assessments = {
        a.principle: a for a in application.evidence_assessments.select_related("assessor")
    }
    return [PrincipleRow(p, assessments.get(p.value)) for p in GmlpPrinciple]


def testing_plan_of(application: Application) -> TestingPlan | None:
    return (
        TestingPlan.objects.filter(application=application)
        .select_related("drafted_by", "agreed_by")
        .prefetch_related("thresholds")
        .first()
    )


def decisions_of(application: Application) -> list[Decision]:
    return list(
        application.decisions.select_related("decided_by", "countersigned_by").order_by(
            "decided_at", "pk"
        )
    )


# --- Exit report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExitReport:
    application: Application
    screening: list[CriterionRow]
    plan: TestingPlan | None
    plan_versions: list
    thresholds: list[MetricThreshold]
    safety: SafetyRecord
    gmlp: list[PrincipleRow]
    decisions: list[Decision]
    screening_met: int
    gmlp_met: int

    @property
    def is_final(self) -> bool:
        return self.application.state_enum.is_final

    @property
    def checkpoints(self) -> list:
        return self.safety.checkpoints


def exit_report(application: Application) -> ExitReport:
    """Everything the exit report states, from the records the review produced."""
    plan = testing_plan_of(application)
    safety = safety_record(application)
    screening = screening_rows(application)
    gmlp = gmlp_rows(application)
    return ExitReport(
        application=application,
        screening=screening,
        plan=plan,
        plan_versions=[
            row for row in plan_history(application) if row.version.manufacturer_agreed_at
        ],
        thresholds=safety.thresholds,
        safety=safety,
        gmlp=gmlp,
        decisions=decisions_of(application),
        screening_met=sum(
            1
            for row in screening
            if row.assessment and row.assessment.outcome == ScreeningOutcome.MET
        ),
        gmlp_met=sum(
            1 for row in gmlp if row.assessment and row.assessment.rating == GmlpRating.MET
        ),
    )
