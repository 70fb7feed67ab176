"""What needs someone's attention: the manufacturer's "Needs your attention" list and the
reviewer's equivalent for the cases assigned to them.

Each list is one query, whatever the number of cases, and the counts the pages show are the
lengths of these same lists, so a count can never disagree with what is listed.
"""

from dataclasses import dataclass, fields
from datetime import timedelta

from django.db.models import F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from airlock.models import User
from devices.models import FINAL_STATES, Application, ApplicationState, Message
from devices.selectors import applications_for
from reviews.models import Checkpoint, CheckpointStatus, InformationRequest, PlanVersion

S = ApplicationState
# Checkpoints show as due soon this far ahead (they appear in the schedule this far ahead too).
DUE_SOON_DAYS = 14
TESTING_STATES = (S.IN_CONTROLLED_TESTING, S.SUSPENDED)


@dataclass(frozen=True)
class Attention:
    overdue_checkpoints: list[Checkpoint]
    due_soon_checkpoints: list[Checkpoint]
    suspended: list[Application]
    information_requests: list[InformationRequest]
    plans: list[PlanVersion]
    unanswered: list[Application]
    drafts: list[Application]

    @property
    def total(self) -> int:
        return sum(len(getattr(self, item.name)) for item in fields(self))

    def __bool__(self) -> bool:
        return self.total > 0


def _latest_message_side():
    return Subquery(
        Message.objects.filter(application=OuterRef("pk"))
        .order_by("-created_at", "-pk")
        .values("from_regulator")[:1]
    )


def _checkpoints(cases: QuerySet[Application]) -> tuple[list, list]:
    today = timezone.localdate()
    in_testing = Checkpoint.objects.filter(
        application__in=cases.filter(state__in=TESTING_STATES)
    ).select_related("application__device")
    overdue = list(
        in_testing.filter(status=CheckpointStatus.OVERDUE).order_by("due_on", "application_id")
    )
    due_soon = list(
        in_testing.filter(
            status=CheckpointStatus.SCHEDULED,
            due_on__lte=today + timedelta(days=DUE_SOON_DAYS),
            application__state=S.IN_CONTROLLED_TESTING,
        ).order_by("due_on", "application_id")
    )
    return overdue, due_soon


def _plans(cases: QuerySet[Application], *, sent: bool | None) -> list[PlanVersion]:
    versions = PlanVersion.objects.filter(application__in=cases).open()
    if sent is not None:
        versions = versions.filter(reviewer_agreed_at__isnull=not sent)
    return list(
        versions.select_related("application__device", "returned_by").order_by("drafted_at", "pk")
    )


def manufacturer_attention(user: User) -> Attention:
    """Everything a manufacturer's team must act on: overdue and escalated checkpoints,
    checkpoints due within DUE_SOON_DAYS, suspended cases, open information requests, plans
    waiting for their agreement, messages from the regulator not answered, and drafts."""
    cases = applications_for(user)
    live = cases.exclude(state__in=FINAL_STATES)
    overdue, due_soon = _checkpoints(live)
    return Attention(
        overdue_checkpoints=overdue,
        due_soon_checkpoints=due_soon,
        suspended=list(live.filter(state=S.SUSPENDED).select_related("device").order_by("pk")),
        information_requests=list(
            InformationRequest.objects.filter(application__in=live, responded_at__isnull=True)
            .select_related("application__device")
            .order_by("due_on", "pk")
        ),
        plans=_plans(live, sent=True),
        unanswered=list(
            live.exclude(state=S.DRAFT)
            .annotate(last_from_regulator=_latest_message_side())
            .filter(last_from_regulator=True)
            .select_related("device")
            .order_by("pk")
        ),
        drafts=list(
            cases.filter(state=S.DRAFT).select_related("device").order_by(F("updated_at").desc())
        ),
    )


def reviewer_attention(user: User) -> Attention:
    """The same for a reviewer's own cases (those assigned to them): their checkpoints overdue,
    escalated or due soon, suspended cases, information requests the manufacturer has still to
    answer, plans not yet agreed (to send, returned, or with the manufacturer) and messages
    from the manufacturer not answered."""
    mine = applications_for(user).filter(assignee=user).exclude(state__in=FINAL_STATES)
    overdue, due_soon = _checkpoints(mine)
    return Attention(
        overdue_checkpoints=overdue,
        due_soon_checkpoints=due_soon,
        suspended=list(mine.filter(state=S.SUSPENDED).select_related("device").order_by("pk")),
        information_requests=list(
            InformationRequest.objects.filter(application__in=mine, responded_at__isnull=True)
            .select_related("application__device")
            .order_by("due_on", "pk")
        ),
        plans=_plans(mine, sent=None),
        unanswered=list(
            mine.annotate(last_from_regulator=_latest_message_side())
            .filter(last_from_regulator=False)
            .select_related("device")
            .order_by("pk")
        ),
        drafts=[],
    )
