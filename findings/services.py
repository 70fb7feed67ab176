"""Recording and curating findings. One function per operation; each checks who is acting,
refuses in words (PermissionDenied for who, ValidationError by field for what), changes the rows
and writes its audit row last, in one transaction."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from airlock.models import User
from devices.models import Application, EvidenceDocument
from findings.audit import finding_event_record, programme_event_record
from findings.models import (
    ChallengeArea,
    Finding,
    FindingEventKind,
    ProgrammeEventKind,
    Suggestion,
    Theme,
)
from findings.selectors import cases_with_findings_for, findings_for, may_curate, may_see_findings
from reviews.models import Checkpoint

NOT_REVIEWER = "Only the regulator's reviewers record and read findings."
NOT_LEAD = "Only a lead reviewer curates themes."


@dataclass(frozen=True)
class FindingDetails:
    title: str
    description: str
    challenge_area_id: int
    suggests: str
    evidence_id: int | None = None
    checkpoint_id: int | None = None


def _case_for(actor: User, application_id: int) -> Application:
    """The case locked, if the actor may see it; anyone else is told nothing about it."""
    if not may_see_findings(actor):
        raise PermissionDenied(NOT_REVIEWER)
    application = (
        cases_with_findings_for(actor)
        .select_for_update(of=("self",))
        .filter(pk=application_id)
        .first()
    )
    if application is None:
        raise PermissionDenied("There is no such case, or you may not see it.")
    return application


def _checked(application: Application, details: FindingDetails) -> dict:
    """The finding's fields once every one is valid; else a ValidationError by field."""
    problems = {}
    title, description = details.title.strip(), details.description.strip()
    if not title:
        problems["title"] = "Give the finding a title."
    if not description:
        problems["description"] = "Describe the gap or lesson."
    area = ChallengeArea.objects.filter(pk=details.challenge_area_id, is_active=True).first()
    if area is None:
        problems["challenge_area"] = "Choose one of the challenge areas in use."
    if details.suggests not in Suggestion.values:
        problems["suggests"] = "Choose what the finding suggests (or nothing yet)."
    evidence = checkpoint = None
    if details.evidence_id is not None:
        evidence = EvidenceDocument.objects.filter(
            pk=details.evidence_id, application=application
        ).first()
        if evidence is None:
            problems["evidence"] = f"Choose evidence of {application.reference}, or none."
    if details.checkpoint_id is not None:
        checkpoint = Checkpoint.objects.filter(
            pk=details.checkpoint_id, application=application
        ).first()
        if checkpoint is None:
            problems["checkpoint"] = f"Choose a checkpoint of {application.reference}, or none."
    if problems:
        raise ValidationError(problems)
    return {
        "title": title,
        "description": description,
        "challenge_area": area,
        "suggests": details.suggests,
        "evidence": evidence,
        "checkpoint": checkpoint,
    }


def finding_record(*, actor: User, application_id: int, details: FindingDetails) -> Finding:
    """Record a finding on a case. Steps: lock the case the reviewer may see (refuse
    otherwise); check the fields (evidence and checkpoint of this case only); save; audit."""
    with transaction.atomic():
        application = _case_for(actor, application_id)
        fields = _checked(application, details)
        finding = Finding.objects.create(application=application, recorded_by=actor, **fields)
        finding_event_record(
            finding=finding, actor=actor, kind=FindingEventKind.RECORDED, detail=finding.title
        )
    return finding


def _finding_locked(actor: User, finding_id: int) -> Finding:
    if not may_see_findings(actor):
        raise PermissionDenied(NOT_REVIEWER)
    finding = findings_for(actor).select_for_update(of=("self",)).filter(pk=finding_id).first()
    if finding is None:
        raise PermissionDenied("There is no such finding, or you may not see it.")
    return finding


def finding_edit(
    *, actor: User, finding_id: int, details: FindingDetails, related_ids: list[int]
) -> Finding:
    """Change a finding and the findings on other cases it is linked to. Steps: lock the
    finding the reviewer may see; check the fields and the links (only findings the reviewer
    may see, on other cases); save; one audit row for the edit and one per link made or
    undone. Links to findings the reviewer may not see are kept as they are."""
    with transaction.atomic():
        finding = _finding_locked(actor, finding_id)
        fields = _checked(finding.application, details)
        visible = findings_for(actor)
        wanted = set(related_ids)
        allowed = set(
            visible.filter(pk__in=wanted)
            .exclude(application_id=finding.application_id)
            .values_list("pk", flat=True)
        )
        if wanted - allowed:
            raise ValidationError(
                {"related": "Link only to findings on other cases that you can see."}
            )
        changed = [name for name, value in fields.items() if getattr(finding, name) != value]
        for name, value in fields.items():
            setattr(finding, name, value)
        finding.updated_at = timezone.now()
        finding.save()
        current = set(finding.related.filter(pk__in=visible).values_list("pk", flat=True))
        if changed:
            finding_event_record(
                finding=finding,
                actor=actor,
                kind=FindingEventKind.EDITED,
                detail="Changed: " + ", ".join(name.replace("_", " ") for name in changed),
            )
        for other in Finding.objects.filter(pk__in=allowed - current).select_related("application"):
            finding.related.add(other)
            finding_event_record(
                finding=finding,
                actor=actor,
                kind=FindingEventKind.LINKED,
                detail=f"To “{other.title}” on {other.application.reference}",
            )
        for other in Finding.objects.filter(pk__in=current - allowed).select_related("application"):
            finding.related.remove(other)
            finding_event_record(
                finding=finding,
                actor=actor,
                kind=FindingEventKind.UNLINKED,
                detail=f"From “{other.title}” on {other.application.reference}",
            )
    return finding


def _theme_fields(name: str, summary: str, *, exclude_pk: int | None = None) -> dict:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the theme a name."})
    if Theme.objects.filter(name__iexact=name).exclude(pk=exclude_pk).exists():
        raise ValidationError({"name": f"There is already a theme called “{name}”."})
    return {"name": name, "summary": summary.strip()}


def theme_create(*, actor: User, name: str, summary: str = "") -> Theme:
    """A new theme (lead reviewers). Steps: refuse others; check the name is new; save; audit."""
    if not may_curate(actor):
        raise PermissionDenied(NOT_LEAD)
    with transaction.atomic():
        theme = Theme.objects.create(created_by=actor, **_theme_fields(name, summary))
        programme_event_record(
            actor=actor, kind=ProgrammeEventKind.THEME_CREATED, theme=theme, detail=theme.name
        )
    return theme


def theme_edit(*, actor: User, theme_id: int, name: str, summary: str = "") -> Theme:
    if not may_curate(actor):
        raise PermissionDenied(NOT_LEAD)
    with transaction.atomic():
        theme = Theme.objects.select_for_update().get(pk=theme_id)
        fields = _theme_fields(name, summary, exclude_pk=theme.pk)
        if fields == {"name": theme.name, "summary": theme.summary}:
            return theme
        detail = f"Renamed from “{theme.name}”" if fields["name"] != theme.name else "Summary"
        Theme.objects.filter(pk=theme.pk).update(**fields)
        theme.refresh_from_db()
        programme_event_record(
            actor=actor, kind=ProgrammeEventKind.THEME_EDITED, theme=theme, detail=detail
        )
    return theme


def _curated(actor: User, theme_id: int, finding_id: int) -> tuple[Theme, Finding]:
    if not may_curate(actor):
        raise PermissionDenied(NOT_LEAD)
    theme = Theme.objects.select_for_update().get(pk=theme_id)
    finding = findings_for(actor).filter(pk=finding_id).first()
    if finding is None:
        raise ValidationError({"finding": "Choose a finding you can see."})
    return theme, finding


def theme_finding_add(*, actor: User, theme_id: int, finding_id: int) -> Theme:
    """Put a finding in a theme. Steps: refuse anyone but a lead; lock the theme; refuse a
    finding the lead may not see or one already in it; add; audit."""
    with transaction.atomic():
        theme, finding = _curated(actor, theme_id, finding_id)
        if theme.findings.filter(pk=finding.pk).exists():
            raise ValidationError({"finding": f"“{finding.title}” is already in this theme."})
        theme.findings.add(finding)
        finding_event_record(
            finding=finding,
            actor=actor,
            kind=FindingEventKind.THEMED,
            theme=theme,
            detail=theme.name,
        )
    return theme


def theme_finding_remove(*, actor: User, theme_id: int, finding_id: int) -> Theme:
    with transaction.atomic():
        theme, finding = _curated(actor, theme_id, finding_id)
        if not theme.findings.filter(pk=finding.pk).exists():
            raise ValidationError({"finding": f"“{finding.title}” is not in this theme."})
        theme.findings.remove(finding)
        finding_event_record(
            finding=finding,
            actor=actor,
            kind=FindingEventKind.UNTHEMED,
            theme=theme,
            detail=theme.name,
        )
    return theme
