"""Chain the audit rows written before the chain existed, oldest first.

The field lists are frozen here (a later change to a model's CHAIN_FIELDS must not change what
this migration hashed); tests/ledger checks they match the models today.
"""

from django.db import migrations
from django.utils import timezone

from ledger.chain import content_hash
from ledger.models import GENESIS, link_hash

FROZEN = {
    "devices.applicationevent": (
        "created_at",
        ["application_id", "actor_id", "transition", "from_state", "to_state", "reason", "created_at"],
    ),
    "reviews.auditentry": (
        "created_at",
        [
            "application_id",
            "actor_id",
            "action",
            "summary",
            "detail",
            "plan_version_id",
            "signal_id",
            "created_at",
        ],
    ),
    "airlock.securityevent": ("created_at", ["user_id", "actor_id", "kind", "detail", "created_at"]),
    "devices.evidencedocument": (
        "uploaded_at",
        [
            "application_id",
            "kind",
            "title",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "version",
            "supersedes_id",
            "uploaded_by_id",
            "uploaded_at",
        ],
    ),
    "reviews.decision": (
        "decided_at",
        ["application_id", "kind", "rationale", "decided_by_id", "decided_at"],
    ),
}


def chain_existing(apps, schema_editor):
    ChainHead = apps.get_model("ledger", "ChainHead")
    ChainLink = apps.get_model("ledger", "ChainLink")

    rows = []
    for source, (time_field, fields) in FROZEN.items():
        model = apps.get_model(*source.split("."))
        for values in model.objects.values("pk", *fields).iterator(chunk_size=5000):
            pk = values.pop("pk")
            rows.append((values[time_field], source, pk, values))
    rows.sort(key=lambda row: row[:3])
    head, _ = ChainHead.objects.get_or_create(pk=1)
    seq, prev = head.seq, head.hash or GENESIS
    now = timezone.now()
    links = []
    for _when, source, pk, values in rows:
        seq += 1
        fields = {
            "seq": seq,
            "source": source,
            "object_id": pk,
            "content_hash": content_hash(source, pk, values),
            "prev_hash": prev,
            "recorded_at": now,
        }
        prev = link_hash(**fields)
        links.append(ChainLink(hash=prev, **fields))
    ChainLink.objects.bulk_create(links, batch_size=1000)
    ChainHead.objects.filter(pk=1).update(seq=seq, hash=prev)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0001_audit_chain"),
        ("airlock", "0004_two_factor_enrolment_security_events"),
        ("devices", "0015_application_call"),
        ("reviews", "0010_audit_actions_retraction_and_model_changes"),
        ("teams", "0002_sign_ups"),
        ("calls", "0001_calls_selection"),
        ("observers", "0001_observer_grants_and_trail"),
    ]

    operations = [migrations.RunPython(chain_existing, migrations.RunPython.noop)]
