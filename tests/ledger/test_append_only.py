"""The one append-only guard (ledger.append_only) refuses every way of changing a row of each
audit trail that uses it, in that trail's own words. The refusals come before any query, so
these need no database; the trails' own tests show it on saved rows."""

import pytest

from calls.models import SelectionEvent
from devices.models import ApplicationEvent
from ledger.append_only import AppendOnly, AppendOnlyQuerySet
from observers.models import ObservationEvent
from reviews.models import AuditEntry
from teams.models import TeamEvent

TRAILS = [
    (ApplicationEvent, "The audit trail is append-only."),
    (AuditEntry, "The audit trail is append-only."),
    (TeamEvent, "The team's audit trail is append-only."),
    (SelectionEvent, "The selection audit trail is append-only."),
    (ObservationEvent, "The observers' audit trail is append-only."),
]


@pytest.mark.parametrize(("model", "message"), TRAILS, ids=lambda v: getattr(v, "__name__", ""))
def test_each_trail_refuses_changes_in_its_own_words(model, message):
    assert issubclass(model, AppendOnly)
    assert isinstance(model.objects.all(), AppendOnlyQuerySet)
    with pytest.raises(PermissionError) as refused:
        model.objects.none().update(detail="rewritten")
    assert str(refused.value) == message
    with pytest.raises(PermissionError) as refused:
        model.objects.none().delete()
    assert str(refused.value) == message

    saved = model()
    saved._state.adding = False
    with pytest.raises(PermissionError) as refused:
        saved.save()
    assert str(refused.value) == message
    with pytest.raises(PermissionError) as refused:
        saved.delete()
    assert str(refused.value) == message
