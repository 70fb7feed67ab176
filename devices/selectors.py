"""Reads, always scoped to what the acting user may see.

Manufacturers see only their own organisation's records; reviewers see every case except those
of organisations they have declared a conflict with; administrators see everything. Anything
outside that scope is simply not found (404), so its existence is not revealed.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_fsm import RETURN_VALUE

from airlock.logs import bind_case
from airlock.models import User
from devices.models import (
    REQUIRED_EVIDENCE,
    TRANSITIONS,
    Application,
    ApplicationEvent,
    ApplicationState,
    Device,
    EvidenceDocument,
    EvidenceKind,
    Message,
)
from reviews.models import ConflictOfInterest


def _organisation_id(user: User) -> int | None:
    membership = getattr(user, "membership", None)
    return membership.organisation_id if membership else None


def _conflicted_organisations(user: User) -> QuerySet[ConflictOfInterest]:
    return ConflictOfInterest.objects.filter(reviewer=user).values("organisation_id")


def applications_for(user: User) -> QuerySet[Application]:
    """Every case `user` may see, and so every record reachable from one: each selector and
    download below filters through this, never beside it.

    The regulator's side (reviewers and administrators on the site) sees a case only once
    it has been submitted: a draft, and a draft withdrawn without ever being submitted, are
    still the manufacturer's own, whatever is attached to them.
    """
    applications = Application.objects.all()
    if user.is_superuser:
        return applications.filter(submitted_at__isnull=False)
    if user.has_perm("airlock.access_review_workspace"):
        # NOT IN (subquery) rather than the NOT EXISTS a join lookup would give: PostgreSQL
        # hashes the reviewer's few conflicts once, so counting the queue over 100k cases can
        # stay an index-only scan instead of an anti-join probed for every row.
        return applications.filter(submitted_at__isnull=False).exclude(
            organisation_id__in=_conflicted_organisations(user)
        )
    organisation_id = _organisation_id(user)
    if organisation_id is None or not user.has_perm("devices.act_for_organisation"):
        return applications.none()
    return applications.filter(organisation_id=organisation_id)


def application_get(user: User, pk: int) -> Application:
    application = get_object_or_404(
        applications_for(user).select_related("device", "organisation", "cohort", "assignee"),
        pk=pk,
    )
    bind_case(application.reference)
    return application


def devices_for(user: User) -> QuerySet[Device]:
    devices = Device.objects.select_related("organisation")
    if user.is_superuser or user.has_perm("airlock.access_review_workspace"):
        # The regulator knows a device through a case it may see, never on its own.
        return devices.filter(applications__in=applications_for(user)).distinct()
    organisation_id = _organisation_id(user)
    if organisation_id is None:
        return devices.none()
    return devices.filter(organisation_id=organisation_id)


def device_is_fixed(device: Device) -> bool:
    """A device stays editable only until an application for it is submitted: from then on
    the regulator is reviewing the device as it was described."""
    return device.applications.exclude(state=ApplicationState.DRAFT).exists()


def evidence_get(user: User, pk: int) -> EvidenceDocument:
    document = get_object_or_404(
        EvidenceDocument.objects.filter(application__in=applications_for(user)).select_related(
            "application"
        ),
        pk=pk,
    )
    bind_case(document.application.reference)
    return document


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    # "transition", "message", "request", "response", "model_change" or "incident"
    kind: str
    who: str
    title: str
    body: str
    event: ApplicationEvent | None = None

    @property
    def state(self) -> ApplicationState | None:
        """The state a transition led to, shown as its tag (the same colour as on the queue)."""
        return ApplicationState(self.event.to_state) if self.event else None


def timeline(application: Application) -> list[TimelineEntry]:
    """Every transition, message, information request and response, model change and serious
    incident, oldest first.

    Internal notes are not part of this: they live in reviews and are shown to reviewers only.
    """
    entries: list[TimelineEntry] = []
    for event in application.events.select_related("actor"):
        entries.append(
            TimelineEntry(
                at=event.created_at,
                kind="transition",
                who=event.actor_label,
                title=f"{event.get_from_state_display()} → {event.get_to_state_display()}",
                body=event.reason,
                event=event,
            )
        )
    for message in Message.objects.filter(application=application).select_related("author"):
        side = "regulator" if message.from_regulator else "manufacturer"
        entries.append(
            TimelineEntry(
                at=message.created_at,
                kind="message",
                who=f"{message.author} ({side})",
                title=f"Message from the {side}",
                body=message.body,
            )
        )
    for request in application.information_requests.select_related("requested_by", "responded_by"):
        entries.append(
            TimelineEntry(
                at=request.requested_at,
                kind="request",
                who=str(request.requested_by),
                title=f"Information requested (due {request.due_on:%-d %B %Y})",
                body=request.questions,
            )
        )
        if request.responded_at:
            entries.append(
                TimelineEntry(
                    at=request.responded_at,
                    kind="response",
                    who=str(request.responded_by),
                    title="Information provided",
                    body=request.response,
                )
            )
    # Model changes: each notice and each decision on it, as the audit trail records them.
    for entry in application.audit_entries.filter(model_change__isnull=False).select_related(
        "actor"
    ):
        entries.append(
            TimelineEntry(
                at=entry.created_at,
                kind="model_change",
                who=str(entry.actor) if entry.actor else "Airlock",
                title=entry.summary,
                body=entry.detail,
            )
        )
    # Serious incidents, during testing or under post-clearance monitoring, with their deadline.
    for incident in application.incidents.select_related("reported_by"):
        timing = (
            f"reported late: due by {incident.report_due_on:%-d %B %Y}"
            if incident.reported_late
            else f"reported on time (due by {incident.report_due_on:%-d %B %Y})"
        )
        entries.append(
            TimelineEntry(
                at=incident.reported_at,
                kind="incident",
                who=str(incident.reported_by),
                title=f"Serious incident reported: {incident.get_severity_display().lower()}",
                body=f"Occurred on {incident.occurred_on:%-d %B %Y}, {timing}.\n\n"
                f"{incident.description}",
            )
        )
    return sorted(entries, key=lambda entry: entry.at)


@dataclass(frozen=True)
class EvidenceGroup:
    kind: EvidenceKind
    required: bool
    current: EvidenceDocument | None
    # Superseded versions, newest first: kept for the record, never deleted.
    history: list[EvidenceDocument]


def evidence_groups(application: Application) -> list[EvidenceGroup]:
    """The application's evidence by kind: the required kinds always (present or not), then
    any other kind that has been uploaded. One query, whatever the number of versions."""
    by_kind: dict[str, list[EvidenceDocument]] = defaultdict(list)
    # Newest first within each kind; the kinds' order comes from the loop below, not the query.
    for document in application.evidence.select_related("uploaded_by").order_by("-version"):
        by_kind[document.kind].append(document)
    groups = []
    for kind in [*REQUIRED_EVIDENCE, *(k for k in EvidenceKind if k not in REQUIRED_EVIDENCE)]:
        documents = by_kind.get(kind, [])
        if not documents and kind not in REQUIRED_EVIDENCE:
            continue
        current = next((d for d in documents if d.is_current), None)
        groups.append(
            EvidenceGroup(
                kind=EvidenceKind(kind),
                required=kind in REQUIRED_EVIDENCE,
                current=current,
                history=[d for d in documents if d is not current],
            )
        )
    return groups


@dataclass(frozen=True)
class TransitionRow:
    action: str
    label: str
    sources: list[ApplicationState]
    targets: list[ApplicationState]
    actor: str
    help_text: str


def transition_table() -> list[TransitionRow]:
    """Every transition of the state machine as the code declares it, in case-life order."""
    rows = []
    for action in TRANSITIONS:
        transitions = list(getattr(Application, action)._django_fsm.transitions.values())
        first = transitions[0]
        target = first.target
        targets = target.allowed_states if isinstance(target, RETURN_VALUE) else [target]
        rows.append(
            TransitionRow(
                action=action,
                label=first.custom["label"],
                sources=[ApplicationState(t.source) for t in transitions],
                targets=[ApplicationState(state) for state in targets],
                actor=first.custom["actor"],
                help_text=first.custom["help_text"],
            )
        )
    return rows


# What each state means, in plain words, for the help page and the case page.
STATE_EXPLANATIONS: dict[ApplicationState, str] = {
    ApplicationState.DRAFT: (
        "The manufacturer is preparing the application. Nothing is sent to the regulator until "
        "it is submitted, and it can be edited freely."
    ),
    ApplicationState.SUBMITTED: (
        "The application and its evidence have been sent. It waits for a reviewer to pick it "
        "up; the 20-working-day screening clock has started."
    ),
    ApplicationState.SCREENING: (
        "A reviewer is checking the application against the eligibility criteria: in scope, "
        "genuine innovation, patient and NHS benefit, readiness, and need for the sandbox."
    ),
    ApplicationState.INFORMATION_REQUESTED: (
        "The reviewer has asked the manufacturer questions. The review clock stops until the "
        "manufacturer responds; the case then goes back to where it was."
    ),
    ApplicationState.ACCEPTED: (
        "The application met every criterion and has a place in a cohort. The regulator and "
        "the manufacturer now agree a testing plan with metric thresholds."
    ),
    ApplicationState.IN_CONTROLLED_TESTING: (
        "The device is being tested in the agreed environment, kept apart from clinical "
        "decisions. The manufacturer reports at each scheduled checkpoint."
    ),
    ApplicationState.SUSPENDED: (
        "Testing is paused, for example because a safety threshold was breached. The "
        "regulator resumes it once the problem is dealt with."
    ),
    ApplicationState.EVIDENCE_REVIEW: (
        "Testing is finished. Reviewers assess the evidence against the ten Good Machine "
        "Learning Practice principles and decide whether to clear the device."
    ),
    ApplicationState.CLEARED: (
        "The device completed the sandbox and a second lead reviewer countersigned the "
        "clearance. Taking part in the sandbox is not approval to market the device."
    ),
    ApplicationState.NOT_CLEARED: (
        "The regulator decided the evidence does not support clearing the device. The case is "
        "closed."
    ),
    ApplicationState.REJECTED: (
        "Screening found the application does not meet the eligibility criteria. The case is "
        "closed; the manufacturer may apply again with a new application."
    ),
    ApplicationState.WITHDRAWN: (
        "The manufacturer withdrew the application, giving a reason. The case is closed."
    ),
}
