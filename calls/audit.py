"""The one place a calls audit row is written (selection steps, calls set up and changed), so
the audit ledger can hook in here."""

from airlock.models import User
from calls.models import CallEvent, CallEventKind, SelectionEvent, SelectionEventKind


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


def call_event_record(*, call, actor: User, kind: CallEventKind, detail: str = "") -> CallEvent:
    return CallEvent.objects.create(call=call, actor=actor, kind=kind, detail=detail)
