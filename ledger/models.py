"""The hash chain over every audit row in Airlock.

One ledger for the whole service rather than a chain per audit table: a deletion, an edit or a
reordering anywhere shows up in one walk, and a new kind of audit row joins by inheriting
`Chained` and naming the fields that make up its content (see ledger/chain.py).

Each `ChainLink` stores the hash of one audit row's canonical content and the hash of the link
before it; `ChainHead` holds the newest link's number and hash, so cutting rows off the end of
the chain is caught too (a walk alone would see a shorter, still consistent chain).
"""

import hashlib

from django.db import models, transaction
from django.utils import timezone

GENESIS = "0" * 64
HEAD_PK = 1


def link_hash(
    *, seq: int, source: str, object_id: int, content_hash: str, prev_hash: str, recorded_at
) -> str:
    text = "|".join(
        [
            str(seq),
            source,
            str(object_id),
            content_hash,
            prev_hash,
            recorded_at.isoformat(timespec="microseconds"),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


class ChainHead(models.Model):
    """The newest link. Appending locks this row (SELECT … FOR UPDATE) for the rest of the
    transaction: that is what serialises appends (see chain.record_many)."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS)

    def __str__(self) -> str:
        return f"Chain head at {self.seq}"


class ChainLink(models.Model):
    """One audit row's place in the chain. `seq` is handed out by the appender, not by a
    database sequence, so a gap means a link was deleted (sequences skip numbers on rollback)."""

    seq = models.PositiveBigIntegerField(primary_key=True)
    source = models.CharField(max_length=60, help_text="The audit table, as app_label.model.")
    object_id = models.PositiveBigIntegerField()
    content_hash = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["seq"]
        constraints = [
            # An audit row is chained once; the index also serves "rows missing from the chain".
            models.UniqueConstraint(fields=["source", "object_id"], name="chainlink_once_per_row"),
        ]

    def __str__(self) -> str:
        return f"{self.seq}: {self.source} {self.object_id}"

    def compute_hash(self) -> str:
        return link_hash(
            seq=self.seq,
            source=self.source,
            object_id=self.object_id,
            content_hash=self.content_hash,
            prev_hash=self.prev_hash,
            recorded_at=self.recorded_at,
        )


class Chained(models.Model):
    """Mix into an append-only audit model and set CHAIN_FIELDS: every row it saves for the
    first time is chained in the same transaction, so the row and its link commit together or
    not at all. Rows made with bulk_create are chained with `chain.record_many(rows)`."""

    # The fields whose values make up the row's content. Never change this list for a model
    # that has rows: their stored hashes were computed over it.
    CHAIN_FIELDS: tuple[str, ...] = ()
    # For the audit export (ledger.export): the case the row belongs to (None when rows are
    # not about a case), the people it names, and when it happened.
    AUDIT_CASE_FIELD: str | None = "application"
    # True when the rows about no case are the programme's own (observer invitations, calls,
    # themes and programme reports), which every reader of the export may have: a lead reviewer
    # manages all of them whatever their conflicts. Otherwise (sign-in security, an
    # organisation's team, a document's revocation) they are for administrators only.
    AUDIT_PROGRAMME = False
    AUDIT_PERSON_FIELDS: tuple[str, ...] = ("actor",)
    AUDIT_TIME_FIELD = "created_at"

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        from ledger.chain import record

        adding = self._state.adding
        with transaction.atomic():
            super().save(*args, **kwargs)
            if adding:
                record(self)

    def audit_action(self) -> str:
        """What happened, in a few words, for the audit export."""
        return self._meta.verbose_name.capitalize()

    def audit_detail(self) -> str:
        """The rest of the row, for the audit export."""
        return str(self)
