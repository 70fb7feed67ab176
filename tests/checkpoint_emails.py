"""The worker's part after a checkpoint sweep: the `emails` queue's tasks send what it owes."""

from reviews.models import CheckpointEmail
from reviews.monitoring.checkpoint_emails import checkpoint_emails_send
from reviews.monitoring.checkpoints import CheckpointSweepResult, checkpoints_sweep


def send_owed_emails() -> int:
    """Send every email the sweep's outbox still owes, as the tasks queued on commit would."""
    owed = CheckpointEmail.objects.filter(sent_at__isnull=True).order_by("pk")
    return checkpoint_emails_send(email_ids=list(owed.values_list("pk", flat=True)))


def sweep_and_send() -> CheckpointSweepResult:
    """The daily sweep, then the emails it owes."""
    result = checkpoints_sweep()
    send_owed_emails()
    return result
