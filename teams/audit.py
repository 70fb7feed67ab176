"""The one place a team audit row is written, so the audit ledger can hook in here."""

from airlock.models import User
from devices.models import Organisation
from teams.models import TeamEvent, TeamEventKind


def team_event_record(
    *,
    organisation: Organisation,
    actor: User | None,
    kind: TeamEventKind,
    subject: str = "",
    detail: str = "",
) -> TeamEvent:
    return TeamEvent.objects.create(
        organisation=organisation, actor=actor, kind=kind, subject=subject, detail=detail
    )
