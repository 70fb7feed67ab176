"""Checking stored evidence against the SHA-256 recorded at upload, and moving it between
stores: what `manage.py verify_evidence` and `manage.py migrate_evidence` do."""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.files.storage import Storage

from airlock import storage
from devices.models import EvidenceDocument, evidence_path

# The keys devices.models.evidence_path makes: a fan-out folder of the key's first two hex
# digits, then the random key. Anything else (evidence/<application id>/<random>, from before
# keys were anonymous) names the case, and is replaced when the file moves.
ANONYMOUS_KEY = re.compile(r"^evidence/([0-9a-f]{2})/\1[0-9a-f]{30}$")


@dataclass
class Finding:
    document: EvidenceDocument
    problem: str  # "missing" or "changed"

    def __str__(self) -> str:
        document = self.document
        return (
            f"{self.problem.upper()}: evidence {document.pk} ({document.application.reference}, "
            f"{document.get_kind_display()} v{document.version}, {document.original_name}) "
            f"at {document.file.name}"
        )


@dataclass
class MigrationResult:
    copied: int = 0
    already_there: int = 0
    problems: list[Finding] = field(default_factory=list)


def _documents() -> Iterator[EvidenceDocument]:
    # Every version, current or superseded: nothing is ever deleted, so all of it must stay
    # intact. iterator() keeps memory flat however many there are.
    return (
        EvidenceDocument.objects.select_related("application")
        .order_by("pk")
        .iterator(chunk_size=500)
    )


def _problem(document: EvidenceDocument, store: Storage) -> str | None:
    try:
        actual = storage.sha256_of(document.file.name, store)
    except FileNotFoundError:
        return "missing"
    return None if actual == document.sha256 else "changed"


def evidence_verify(store: Storage | None = None) -> tuple[int, list[Finding]]:
    """Read every stored file and compare its SHA-256 with the recorded one."""
    store = store or storage.backend()
    checked, findings = 0, []
    for document in _documents():
        checked += 1
        problem = _problem(document, store)
        if problem:
            findings.append(Finding(document, problem))
    return checked, findings


def evidence_migrate(*, source: Storage, target: Storage) -> MigrationResult:
    """Copy every file from `source` to `target`, verifying each hash on both sides.

    Safe to run again, and to stop half-way: a file already in the target with the right hash
    is left alone. A file that fails its hash in the source is not copied but reported (the
    evidence changed on disk). Keys that named the case are replaced by anonymous ones as the
    file moves; the row's key is updated only once the copy is verified.
    """
    result = MigrationResult()
    for document in _documents():
        name = document.file.name
        if _problem(document, target) is None:
            result.already_there += 1
            continue
        problem = _problem(document, source)
        if problem:
            result.problems.append(Finding(document, problem))
            continue
        new_name = name if ANONYMOUS_KEY.match(name) else evidence_path(document, name)
        if target.exists(new_name):
            # A copy that failed its check earlier: replaced, never kept beside.
            target.delete(new_name)
        with source.open(name, "rb") as handle:
            stored = storage.store_verified(new_name, handle, document.sha256, target)
        if stored != name:
            # Only where the file lives changes; what was uploaded, by whom, stays as it was.
            EvidenceDocument.objects.filter(pk=document.pk).update(file=stored)
        result.copied += 1
    return result
