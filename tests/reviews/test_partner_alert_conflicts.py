"""A reviewer conflicted with an organisation sees none of its alerts to the partner network:
not the alert, not the deliveries or the partners' receipts, not the list of alerts partners
have not acknowledged (dashboard and weekly digest), and cannot share, retract or move one.
Partners' own alerts name no case of ours and stay open to every reviewer."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from devices.models import ApplicationState
from reviews.models import (
    AlertDelivery,
    ConflictOfInterest,
    IncomingAlert,
    PartnerRegulator,
    SafetySignal,
    SignalSeverity,
    SignalSource,
)
from reviews.monitoring.dashboard import programme_dashboard, signals_for
from reviews.monitoring.digest import reviewer_digest_context
from reviews.monitoring.signals import (
    safety_signal_retract,
    safety_signal_share,
    safety_signal_status_set,
)
from tests.factories import make_application
from tests.partner_sharing import share_with_two_partners

pytestmark = pytest.mark.django_db

TITLE = "Sensitivity fell at two sites"
NOTE = "Relevant here: we are asking the maker for data."


@pytest.fixture
def shared(organisation):
    """A high signal on the organisation's case, shared three days ago with two partners:
    one answered with a receipt, the other has not acknowledged it."""
    application = make_application(
        ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation
    )
    when = timezone.now() - timedelta(days=3)
    signal = SafetySignal.objects.create(
        application=application,
        severity=SignalSeverity.HIGH,
        source=SignalSource.REVIEWER,
        title=TITLE,
        description="Below the agreed threshold.",
        shared_at=when,
    )
    share_with_two_partners(signal, delivered_at=when, note=NOTE, answered_at=when)
    return signal


@pytest.fixture
def conflicted(reviewer, organisation):
    ConflictOfInterest.objects.create(
        reviewer=reviewer, organisation=organisation, reason="Shares."
    )
    return reviewer


# --- The reads -------------------------------------------------------------------------------


def test_it_counts_an_unacknowledged_alert_only_for_reviewers_free_of_conflict(
    shared, conflicted, lead_reviewer
):
    free = programme_dashboard(lead_reviewer)
    blind = programme_dashboard(conflicted)

    assert free["unacknowledged_count"] == 1
    assert [row["signal"] for row in free["unacknowledged"]] == [shared]
    assert blind["unacknowledged_count"] == 0
    assert blind["unacknowledged"] == []
    assert blind["open_signal_count"] == 0


def test_the_digest_leaves_the_alert_out_for_a_conflicted_reviewer(
    shared, conflicted, lead_reviewer
):
    assert [row["signal"] for row in reviewer_digest_context(lead_reviewer)["unacknowledged"]] == [
        shared
    ]
    context = reviewer_digest_context(conflicted)

    assert context["unacknowledged"] == []
    assert context["open_signals"] == []


def test_signals_for_leaves_out_the_organisation_s_alerts(shared, conflicted, lead_reviewer):
    assert list(signals_for(lead_reviewer)) == [shared]
    assert not signals_for(conflicted).exists()


def test_partners_alerts_stay_open_to_every_reviewer(client, conflicted):
    """An alert a partner shares names no case of ours (only a device name, in its own words):
    it is the regulator's, whoever is conflicted."""
    alert = IncomingAlert.objects.create(
        partner=PartnerRegulator.objects.create(name="Elsewhere", country="Y"),
        external_id="EX-1",
        title="Seen abroad",
        severity=SignalSeverity.HIGH,
        summary="A drift in a similar product.",
        payload={},
    )
    client.force_login(conflicted)

    assert client.get(reverse("reviews:incoming-alert", args=[alert.pk])).status_code == 200
    assert "Seen abroad" in client.get(reverse("reviews:incoming-alerts")).content.decode()


# --- The services ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "act",
    [
        lambda actor, pk: safety_signal_share(actor=actor, signal_id=pk),
        lambda actor, pk: safety_signal_retract(actor=actor, signal_id=pk, reason="In error."),
        lambda actor, pk: safety_signal_status_set(
            actor=actor, signal_id=pk, status="investigating"
        ),
    ],
    ids=["share", "retract", "status"],
)
def test_a_conflicted_reviewer_cannot_share_retract_or_move_the_alert(shared, conflicted, act):
    with pytest.raises(PermissionError, match="conflict of interest"):
        act(conflicted, shared.pk)

    shared.refresh_from_db()
    assert (shared.alert_version, shared.retracted_at, shared.status) == (1, None, "open")
    assert AlertDelivery.objects.filter(signal=shared).count() == 2


# --- The pages -------------------------------------------------------------------------------


def test_the_alert_s_pages_are_not_found_for_a_conflicted_reviewer(client, shared, conflicted):
    client.force_login(conflicted)

    assert client.get(reverse("reviews:signal-detail", args=[shared.pk])).status_code == 404
    for name in ("reviews:signal-share", "reviews:signal-retract", "reviews:signal-status"):
        assert client.post(reverse(name, args=[shared.pk]), {"reason": "x"}).status_code == 404
    for url in (reverse("reviews:dashboard"), reverse("reviews:signals") + "?show=all"):
        page = client.get(url).content.decode()
        assert TITLE not in page
        assert shared.application.reference not in page
        assert NOTE not in page


def test_a_reviewer_free_of_conflict_sees_the_alert_and_its_receipts(client, shared, lead_reviewer):
    """The control: what the conflicted reviewer misses is there to be missed."""
    client.force_login(lead_reviewer)

    detail = client.get(reverse("reviews:signal-detail", args=[shared.pk])).content.decode()
    dashboard = client.get(reverse("reviews:dashboard")).content.decode()

    assert TITLE in detail
    assert NOTE in detail
    assert "Silent" in dashboard
    assert TITLE in dashboard
