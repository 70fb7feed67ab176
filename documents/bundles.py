"""A case bundle: everything the case's record holds, in one zip anyone can check offline.

evidence/ (every version of every file), documents/ (the issued PDFs), audit.json (the case's
chained audit rows, with their links), verify_bundle.py (the offline verifier), and
manifest.json listing each file's SHA-256 and size, signed with the service's Ed25519 key in
manifest.sig.
"""

import hashlib
import json
import re
import tempfile
import zipfile
from pathlib import Path

from django.utils import timezone

from airlock.models import User
from devices.models import Application
from devices.selectors import applications_for
from ledger import signing
from ledger.export import audit_rows

FORMAT = "airlock-case-bundle/1"
VERIFIER = Path(__file__).resolve().parents[1] / "ledger" / "verify_bundle.py"


def bundle_refusal(user: User, application: Application) -> str | None:
    """Who may take a case's bundle: a lead reviewer or administrator, or the manufacturer."""
    if user.is_superuser or user.has_perm("airlock.lead_review"):
        return None
    membership = getattr(user, "membership", None)
    if (
        user.has_perm("devices.act_for_organisation")
        and membership is not None
        and membership.organisation_id == application.organisation_id
    ):
        return None
    return "Only a lead reviewer or the manufacturer can export a case bundle."


def _safe(name: str) -> str:
    """A file name that cannot climb out of its folder or surprise an unzip tool."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "file"
    return cleaned[:120]


def case_bundle_build(*, actor: User, application: Application):
    """Write the bundle to a temporary file; return it, at its start, for streaming.

    Steps: add each evidence version and document from storage, hashing as it goes; the
    audit rows as JSON; the verifier; then the manifest and its signature. The caller has
    checked `bundle_refusal` and that the actor may see the case.
    """
    files: list[dict] = []
    # Returned open for the response to stream and close: evidence can run to hundreds of MB,
    # more than a request should hold in memory.
    handle = tempfile.TemporaryFile()  # noqa: SIM115
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as bundle:

        def add(path: str, content: bytes) -> None:
            bundle.writestr(path, content)
            files.append(
                {"path": path, "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
            )

        for document in application.evidence.order_by("kind", "version"):
            with document.file.open("rb") as stored:
                content = stored.read()
            add(
                f"evidence/{document.kind}/v{document.version}-{_safe(document.original_name)}",
                content,
            )
        for document in application.documents.order_by("issued_at"):
            with document.file.open("rb") as stored:
                add(f"documents/{document.filename}", stored.read())
        rows = audit_rows(
            cases=applications_for(actor), include_caseless=False, application_id=application.pk
        )
        add("audit.json", json.dumps([row.as_dict() for row in rows], indent=1).encode())
        add("verify_bundle.py", VERIFIER.read_bytes())
        manifest = json.dumps(
            {
                "format": FORMAT,
                "case": application.reference,
                "created_at": timezone.now().isoformat(),
                "public_key": signing.public_key_hex(),
                "files": files,
            },
            indent=1,
            sort_keys=True,
        ).encode()
        bundle.writestr("manifest.json", manifest)
        bundle.writestr("manifest.sig", signing.sign(manifest) + "\n")
    handle.seek(0)
    return handle
