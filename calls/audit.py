"""The one place a selection audit row is written, so the audit ledger can hook in here."""

from airlock.models import User
from calls.models import SelectionEvent, SelectionEventKind


def selection_event_record(
    *, application, actor: User, kind: SelectionEventKind, detail: str = ""
) -> SelectionEvent:
    return SelectionEvent.objects.create(
        call_id=application.call_id,
        application=application,
        actor=actor,
        kind=kind,
        detail=detail,
    )
