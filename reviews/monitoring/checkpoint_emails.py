"""The checkpoint sweep's emails, through an outbox the broker can lose nothing from.

Each sweep step, in its own transaction, stamps checkpoints and writes one `CheckpointEmail`
row per address it owes an email (the rows it lists are ids, not text); on commit, tasks on the
`emails` queue take those rows a batch of ids at a time, render and send them. A row is sent
once: the sender locks it and skips it when it is already stamped sent. A task whose message
was lost (the broker down at commit, a worker killed) leaves its rows unsent, and the repair
sweep on beat sends them. So the sweep itself never renders or sends, and a catch-up over
hundreds of thousands of checkpoints spends its time in the database.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone

from airlock.emails import send_templated
from airlock.queue import enqueue_on_commit
from notifications.recipients import ReviewerDirectory, team_emails
from reviews.models import Checkpoint, CheckpointEmail, CheckpointEmailKind
from reviews.monitoring import ESCALATE_AFTER_DAYS, SWEEP_BATCH, SWEEP_GRACE

# A scheduled email lists this many checkpoints at most and counts the rest.
EMAIL_LIST_LIMIT = 20
# Outbox ids per task message: few messages for a catch-up run's thousands of emails, and
# still several tasks for the `emails` workers to share.
IDS_PER_TASK = 50


@dataclass(frozen=True)
class Stamped:
    """One checkpoint a run stamped, with what is needed to find its recipients, and how
    many its (assignee, organisation) part holds in all (`total`, on the part's first row)."""

    pk: int
    organisation_id: int
    assignee_id: int | None
    total: int = 0


def stamped_heads(stamped: QuerySet[Checkpoint]) -> list[Stamped]:
    """The first EMAIL_LIST_LIMIT stamped checkpoints of each (assignee, organisation), in
    case and sequence order, each part's first row carrying its size: an email lists at
    most that many and counts the rest, so nothing more is loaded. The database numbers
    and counts the rows (window functions), so a run's memory is bounded by the number of
    organisations and reviewers, not of checkpoints."""
    part = [F("application__assignee_id"), F("application__organisation_id")]
    order = [F("application_id").asc(), F("sequence").asc()]
    rows = (
        stamped.annotate(
            place=Window(RowNumber(), partition_by=part, order_by=order),
            total=Window(Count("*"), partition_by=part),
        )
        .filter(place__lte=EMAIL_LIST_LIMIT)
        .order_by("application_id", "sequence")
        .values_list(
            "pk", "application__organisation_id", "application__assignee_id", "place", "total"
        )
    )
    return [
        Stamped(pk, organisation_id, assignee_id, total if place == 1 else 0)
        for pk, organisation_id, assignee_id, place, total in rows.iterator(chunk_size=10_000)
    ]


def _addresses(kind: str, rows: list[Stamped]):
    """Who is emailed about each row: the manufacturer's team for reminders and overdue
    reports; the assigned reviewer (or the unconflicted lead reviewers, or the team mailbox)
    for escalations. One or three queries, whatever the number of rows."""
    if kind == CheckpointEmailKind.ESCALATED:
        reviewers = ReviewerDirectory(row.assignee_id for row in rows)
        return lambda row: reviewers.emails(
            assignee_id=row.assignee_id, organisation_id=row.organisation_id
        )
    teams = team_emails({row.organisation_id for row in rows})
    return lambda row: teams.get(row.organisation_id, ())


def owe(kind: str, stamped: QuerySet[Checkpoint], stamped_at: datetime) -> int:
    """Write the emails this run owes about the checkpoints in `stamped` (one row per address:
    a person in several teams, or a lead reviewer for several organisations, hears once) and
    queue their sending for after commit. Call inside the transaction that stamped them.
    Returns how many checkpoints were stamped."""
    rows = stamped_heads(stamped)
    if not rows:
        return 0
    addresses = _addresses(kind, rows)
    owed: dict[str, tuple[list[int], int]] = {}
    # The rows come in case and sequence order, so each address lists its first ones.
    for row in rows:
        for address in addresses(row):
            listed, total = owed.get(address, ([], 0))
            if len(listed) < EMAIL_LIST_LIMIT:
                listed.append(row.pk)
            owed[address] = (listed, total + row.total)
    emails = CheckpointEmail.objects.bulk_create(
        CheckpointEmail(
            kind=kind, email_to=address, stamped_at=stamped_at, checkpoint_ids=listed, total=total
        )
        for address, (listed, total) in sorted(owed.items())
    )
    ids = [email.pk for email in emails]
    for start in range(0, len(ids), IDS_PER_TASK):
        enqueue_on_commit("reviews.tasks.send_checkpoint_emails", ids[start : start + IDS_PER_TASK])
    return sum(row.total for row in rows)


@dataclass(frozen=True)
class ListedCheckpoint:
    """A checkpoint as a scheduled email lists it (plain values: cheap to load and render)."""

    reference: str
    device: str
    organisation: str
    sequence: int
    due_on: date
    days: int  # until due (reminders) or since due (escalations)
    url: str


def _listed(email: CheckpointEmail) -> list[ListedCheckpoint]:
    """The checkpoints an email lists, in its order, as plain values (one query). One gone
    since the run (a monitoring plan ended early drops those not yet due) is left out."""
    today = timezone.localdate(email.stamped_at)
    escalation = email.kind == CheckpointEmailKind.ESCALATED
    rows = {
        row["pk"]: row
        for row in Checkpoint.objects.filter(pk__in=email.checkpoint_ids).values(
            "pk",
            "sequence",
            "due_on",
            "application_id",
            "application__reference",
            "application__device__name",
            "application__device__version",
            "application__organisation__name",
        )
    }
    listed = []
    for pk in email.checkpoint_ids:
        if (row := rows.get(pk)) is None:
            continue
        device = [row["application__device__name"], row["application__device__version"]]
        if escalation:
            url = reverse("reviews:performance", args=[row["application_id"]])
            days = (today - row["due_on"]).days
        else:
            url = reverse(
                "devices:checkpoint-report", args=[row["application_id"], row["sequence"]]
            )
            days = (row["due_on"] - today).days
        listed.append(
            ListedCheckpoint(
                reference=row["application__reference"],
                device=" ".join(filter(None, device)),
                organisation=row["application__organisation__name"],
                sequence=row["sequence"],
                due_on=row["due_on"],
                days=days,
                url=settings.SITE_URL + url,
            )
        )
    return listed


def checkpoint_email_send(*, email_id: int) -> int:
    """Send one owed email, once. The row is locked while sending and must still be unsent
    once the lock is ours, so two deliveries of the same id cannot both send: the second waits,
    then finds it stamped. Returns how many messages went (0 or 1)."""
    with transaction.atomic():
        email = (
            CheckpointEmail.objects.select_for_update()
            .filter(pk=email_id, sent_at__isnull=True)
            .first()
        )
        if email is None:
            return 0
        listed = _listed(email)
        sent = 0
        if listed:
            if email.kind == CheckpointEmailKind.ESCALATED:
                name, context = "checkpoint_escalation", {}
            else:
                name = "checkpoint_reminder"
                context = {"kind": email.kind, "escalate_after_days": ESCALATE_AFTER_DAYS}
            more = email.total - len(email.checkpoint_ids)
            context |= {"checkpoints": listed, "first": listed[0], "more": more}
            sent = send_templated(name, context, [email.email_to])
        email.sent_at = timezone.now()
        email.save(update_fields=["sent_at"])
    return sent


def checkpoint_emails_send(*, email_ids: Iterable[int]) -> int:
    """Send the owed emails named (a task's batch); those already sent are skipped."""
    return sum(checkpoint_email_send(email_id=pk) for pk in email_ids)


def pending_checkpoint_emails_send() -> int:
    """Repair sweep: send the owed emails whose task never ran (the broker lost the message,
    or was down when the sweep committed), SWEEP_BATCH a run, oldest first."""
    cutoff = timezone.now() - SWEEP_GRACE
    pending = list(
        CheckpointEmail.objects.filter(sent_at__isnull=True, created_at__lt=cutoff)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    return checkpoint_emails_send(email_ids=pending)
