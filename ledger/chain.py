"""Appending to the audit chain, and the canonical content of an audit row.

The content hash covers the table, the row's primary key and the CHAIN_FIELDS values, written
as JSON with sorted keys, datetimes in UTC to the microsecond and foreign keys as ids: the same
bytes whether computed from the instance being saved or from the row read back years later.
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.apps import apps
from django.db import models, transaction
from django.utils import timezone

from ledger.models import HEAD_PK, Chained, ChainHead, ChainLink


def label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def chained_models() -> dict[str, type[models.Model]]:
    """Every audit table in the chain, by label."""
    return {
        label(model): model
        for model in apps.get_models()
        if issubclass(model, Chained) and model.CHAIN_FIELDS
    }


def attnames(model: type[models.Model]) -> list[str]:
    return [model._meta.get_field(name).attname for name in model.CHAIN_FIELDS]


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value, UTC)
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    return value


def content_hash(source: str, pk: int, values: dict[str, Any]) -> str:
    document = {
        "source": source,
        "pk": pk,
        "fields": {name: _canonical(value) for name, value in values.items()},
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def instance_hash(instance: models.Model) -> str:
    """The content hash of an instance as it was saved: each value passed through its field's
    to_python, so a datetime given as a string hashes as the datetime the database stores."""
    model = type(instance)
    values = {}
    for name in model.CHAIN_FIELDS:
        field = model._meta.get_field(name)
        values[field.attname] = field.to_python(getattr(instance, field.attname))
    return content_hash(label(model), instance.pk, values)


def record(instance: models.Model) -> ChainLink:
    """Chain one audit row the caller has just saved (Chained.save calls this)."""
    return record_many([instance])[0]


def record_many(instances: Sequence[models.Model]) -> list[ChainLink]:
    """Append audit rows to the chain, in the given order, inside the caller's transaction.

    Steps: lock the chain head; number and hash each row after it; insert the links in one
    statement per thousand; move the head.

    The race: two transactions reading the same head would both append link n+1, and the
    chain would fork (the primary key on seq turns that into an IntegrityError, a 500). Locking
    the head row FOR UPDATE makes the second wait until the first commits, then read the head
    the first left behind, so links are numbered in commit order. The lock is held to the end
    of the caller's transaction, so every service writes its audit row last (as the style guide
    already asks) and keeps the time after it short. On SQLite the lock is a no-op, and none is
    needed: SQLite lets one writer in at a time.
    """
    if not instances:
        return []
    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(pk=HEAD_PK)
        seq, prev = head.seq, head.hash
        now = timezone.now()
        links = []
        for instance in instances:
            seq += 1
            link = ChainLink(
                seq=seq,
                source=label(type(instance)),
                object_id=instance.pk,
                content_hash=instance_hash(instance),
                prev_hash=prev,
                recorded_at=now,
            )
            link.hash = prev = link.compute_hash()
            links.append(link)
        ChainLink.objects.bulk_create(links, batch_size=1000)
        ChainHead.objects.filter(pk=HEAD_PK).update(seq=seq, hash=prev)
    return links
