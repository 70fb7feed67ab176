"""Issuing and revoking a case's documents."""

import hashlib
import logging
import secrets

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from airlock.models import User
from devices.models import Application, ApplicationState
from documents.models import CaseDocument, DocumentKind, DocumentRevocation
from documents.rendering import PDF_VARIANT, render_pdf
from reviews.models import Decision, DecisionKind
from reviews.selectors import exit_report

logger = logging.getLogger(__name__)

# What each final decision issues. A rejection comes at screening, before any testing: there
# is no exit report to give.
DOCUMENTS_DUE = {
    ApplicationState.CLEARED: (DocumentKind.CLEARED, DocumentKind.EXIT_REPORT),
    ApplicationState.NOT_CLEARED: (DocumentKind.NOT_CLEARED, DocumentKind.EXIT_REPORT),
    ApplicationState.REJECTED: (DocumentKind.REJECTED,),
}
DECISION_KINDS = {
    DocumentKind.CLEARED: DecisionKind.CLEAR,
    DocumentKind.NOT_CLEARED: DecisionKind.NOT_CLEAR,
    DocumentKind.REJECTED: DecisionKind.REJECT,
}
# Base32 without padding, easy to read out on the phone: AIRLOCK-7Q4M-2KXD-9PLA.
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_reference() -> str:
    code = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return f"AIRLOCK-{code[:4]}-{code[4:8]}-{code[8:]}"


def _decision(application: Application, kind: str) -> Decision | None:
    return (
        application.decisions.filter(kind=DECISION_KINDS[kind], withdrawn_at__isnull=True)
        .select_related("decided_by", "countersigned_by")
        .order_by("-decided_at")
        .first()
    )


def _render(application: Application, kind: str, reference: str, issued_at) -> bytes:
    context = {
        "application": application,
        "reference": reference,
        "issued_at": issued_at,
        "verify_url": settings.SITE_URL + reverse("documents:verify"),
        "kind_label": DocumentKind(kind).label,
    }
    if kind == DocumentKind.EXIT_REPORT:
        context |= {"report": exit_report(application), "generated_at": issued_at}
        return render_pdf("documents/pdf/exit_report.html", context)
    context["decision"] = _decision(application, kind)
    return render_pdf("documents/pdf/decision.html", context)


def case_documents_issue(*, application_id: int) -> list[CaseDocument]:
    """Issue the documents the case's final state calls for that it does not have yet; return
    those issued now (none on a rerun).

    Steps: lock the case (two workers given the same case issue each document once); for each
    document due and missing: draw the PDF, hash it, store it, record it (chained into the audit
    ledger). A failure leaves the stored file behind without a row; the next run draws anew.
    """
    issued = []
    with transaction.atomic():
        application = (
            Application.objects.select_for_update(of=("self",))
            .select_related("device", "organisation", "cohort")
            .get(pk=application_id)
        )
        have = set(application.documents.values_list("kind", flat=True))
        for kind in DOCUMENTS_DUE.get(application.state, ()):
            if kind in have:
                continue
            reference, issued_at = new_reference(), timezone.now()
            content = _render(application, kind, reference, issued_at)
            document = CaseDocument(
                application=application,
                kind=kind,
                reference=reference,
                sha256=hashlib.sha256(content).hexdigest(),
                size=len(content),
                pdf_variant=PDF_VARIANT,
                issued_at=issued_at,
            )
            # The storage key is random (documents.models.document_path); the name is unused.
            document.file.save("document.pdf", ContentFile(content), save=False)
            document.save()
            issued.append(document)
    for document in issued:
        logger.info("Issued %s for %s", document.reference, application.reference)
    return issued


def documents_missing(limit: int = 200) -> list[int]:
    """Cases in a final state without every document it calls for (the sweep's work): one
    query per final state, at most `limit` cases each; the next run takes the rest."""
    missing = []
    for state, kinds in DOCUMENTS_DUE.items():
        complete = (
            CaseDocument.objects.filter(kind__in=kinds)
            .values("application_id")
            .annotate(issued=Count("pk"))
            .filter(issued=len(kinds))
            .values("application_id")
        )
        missing += (
            Application.objects.filter(state=state)
            .exclude(pk__in=complete)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
    return missing


def case_document_revoke(*, actor: User, document_id: int, reason: str) -> DocumentRevocation:
    """Revoke an issued document (administrators). Steps: refuse without a reason or when
    already revoked; record the revocation (chained)."""
    if not actor.is_superuser:
        raise PermissionError("Only an administrator can revoke a document.")
    if not reason.strip():
        raise ValueError("Give the reason: the revocation is on the record.")
    with transaction.atomic():
        document = CaseDocument.objects.select_for_update().get(pk=document_id)
        if DocumentRevocation.objects.filter(document=document).exists():
            raise ValueError(f"{document.reference} is already revoked.")
        return DocumentRevocation.objects.create(
            document=document, actor=actor, reason=reason.strip()
        )
