"""Reads, always scoped to what the acting user may see.

Manufacturers see only their own organisation's records; reviewers see every case except those
of organisations they have declared a conflict with; administrators see everything. Anything
outside that scope is simply not found (404), so its existence is not revealed.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from airlock.models import User
from devices.models import Application, ApplicationEvent, Device, EvidenceDocument, Message


def _organisation_id(user: User) -> int | None:
    membership = getattr(user, "membership", None)
    return membership.organisation_id if membership else None


def applications_for(user: User) -> QuerySet[Application]:
    applications = Application.objects.all()
    if user.is_superuser:
        return applications
    if user.has_perm("airlock.access_review_workspace"):
        return applications.exclude(organisation__conflicts__reviewer=user)
    organisation_id = _organisation_id(user)
    if organisation_id is None or not user.has_perm("devices.act_for_organisation"):
        return applications.none()
    return applications.filter(organisation_id=organisation_id)


def application_get(user: User, pk: int) -> Application:
    return get_object_or_404(
        applications_for(user).select_related("device", "organisation", "cohort", "assignee"),
        pk=pk,
    )


def devices_for(user: User) -> QuerySet[Device]:
    devices = Device.objects.select_related("organisation")
    if user.is_superuser:
        return devices
    if user.has_perm("airlock.access_review_workspace"):
        return devices.exclude(organisation__conflicts__reviewer=user)
    organisation_id = _organisation_id(user)
    if organisation_id is None:
        return devices.none()
    return devices.filter(organisation_id=organisation_id)


def evidence_get(user: User, pk: int) -> EvidenceDocument:
    return get_object_or_404(
        EvidenceDocument.objects.filter(application__in=applications_for(user)).select_related(
            "application"
        ),
        pk=pk,
    )


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "transition", "message", "request" or "response"
    who: str
    title: str
    body: str
    event: ApplicationEvent | None = None


def timeline(application: Application) -> list[TimelineEntry]:
    """Every transition, message, information request and response, oldest first.

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
        side = "Regulator" if message.from_regulator else "Manufacturer"
        entries.append(
            TimelineEntry(
                at=message.created_at,
                kind="message",
                who=f"{message.author} ({side.lower()})",
                title=f"Message from the {side.lower()}",
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
    return sorted(entries, key=lambda entry: entry.at)
