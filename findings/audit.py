"""The one place the findings' audit rows are written (both chained into the audit ledger)."""

from airlock.models import User
from findings.models import (
    Finding,
    FindingEvent,
    FindingEventKind,
    ProgrammeEvent,
    ProgrammeEventKind,
    ProgrammeReport,
    Theme,
)


def finding_event_record(
    *,
    finding: Finding,
    actor: User,
    kind: FindingEventKind,
    detail: str = "",
    theme: Theme | None = None,
) -> FindingEvent:
    return FindingEvent.objects.create(
        application_id=finding.application_id,
        finding=finding,
        theme=theme,
        actor=actor,
        kind=kind,
        detail=detail,
    )


def programme_event_record(
    *,
    actor: User,
    kind: ProgrammeEventKind,
    detail: str = "",
    theme: Theme | None = None,
    report: ProgrammeReport | None = None,
) -> ProgrammeEvent:
    return ProgrammeEvent.objects.create(
        theme=theme, report=report, actor=actor, kind=kind, detail=detail
    )
