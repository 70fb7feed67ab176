"""A safety signal shared with two partner regulators: one answered with a receipt, the other
has said nothing (so the alert is on the dashboard's list of unacknowledged ones)."""

from reviews.models import AlertDelivery, PartnerRegulator
from reviews.network.models import AlertReceipt, Assessment, DeliveryStatus, ReceiptKind


def share_with_two_partners(signal, *, delivered_at, note, answered_at):
    """Deliver `signal` to an answering and a silent partner; the answering one's receipt
    carries `note`. Returns the two partners."""
    answered, silent = (
        PartnerRegulator.objects.create(
            name=name, country="X", webhook_url=f"https://{slug}.example/hooks"
        )
        for name, slug in (("Answering Regulator", "answering"), ("Silent Regulator", "silent"))
    )
    for partner in (answered, silent):
        AlertDelivery.objects.create(
            signal=signal,
            partner=partner,
            status=DeliveryStatus.DELIVERED,
            attempts=1,
            last_attempt_at=delivered_at,
            delivered_at=delivered_at,
        )
    AlertReceipt.objects.create(
        signal=signal,
        partner=answered,
        kind=ReceiptKind.TRIAGED,
        alert_version=1,
        assessment=Assessment.RELEVANT,
        note=note,
        issued_at=answered_at,
    )
    return answered, silent
