"""The one place an observers' audit row is written, so the audit ledger can hook in here."""

from airlock.models import User
from observers.models import ObservationEvent, ObservationKind


def observation_record(
    *, observer: User | None, actor: User, kind: ObservationKind, application=None, detail: str = ""
) -> ObservationEvent:
    return ObservationEvent.objects.create(
        observer=observer, actor=actor, kind=kind, application=application, detail=detail
    )
