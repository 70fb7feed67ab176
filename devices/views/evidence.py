"""Uploading evidence, and downloading it through a permission check.

Files live in private storage (airlock/storage.py: a folder no URL maps to, or a private
bucket): the download view is the only way out, and it fetches the record through the same
scoping as every other page. It streams the file, or (EVIDENCE_DOWNLOAD=redirect, object store
only) sends the browser to a presigned link that expires within a minute.
"""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from airlock import storage
from devices import selectors, services
from devices.forms import EvidenceUploadForm
from devices.models import Application, EvidenceDocument, EvidenceKind
from devices.views.access import contributor_required, posted, posted_files

logger = logging.getLogger(__name__)


def upload_from_form(
    request: HttpRequest, application: Application, form: EvidenceUploadForm
) -> EvidenceDocument | None:
    """Store a valid upload through the service; on refusal, say why (as a form error)."""
    if not form.is_valid():
        return None
    try:
        document = services.evidence_upload(
            application=application,
            actor=request.user,
            kind=form.cleaned_data["kind"],
            upload=form.cleaned_data["file"],
            title=form.cleaned_data["title"],
        )
    except (services.TransitionRefused, PermissionError) as refused:
        form.add_error(None, str(refused))
        return None
    superseded = f", replacing version {document.version - 1}" if document.version > 1 else ""
    messages.success(
        request,
        f"{document.get_kind_display()} uploaded as version {document.version}{superseded}. "
        f"SHA-256 {document.sha256[:12]}…",
    )
    return document


@require_http_methods(["GET", "POST"])
@contributor_required
def evidence_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Add evidence (or a new version of it) to a case that is not yet decided."""
    application = selectors.application_get(request.user, pk)
    if application.state_enum.is_final:
        messages.error(
            request,
            f"{application.reference} is {application.state_enum.in_words}: no more "
            "evidence can be added.",
        )
        return redirect("devices:application-detail", application.pk)
    kind = request.GET.get("kind", "")
    form = EvidenceUploadForm(
        posted(request),
        posted_files(request),
        initial={"kind": kind if kind in EvidenceKind.values else ""},
    )
    if request.method == "POST" and upload_from_form(request, application, form):
        return redirect("devices:application-detail", application.pk)
    return render(
        request,
        "devices/evidence_upload.html",
        {"application": application, "form": form},
    )


@require_GET
@never_cache
@login_required
def evidence_download(request: HttpRequest, pk: int) -> HttpResponse:
    """Stream one stored file to someone allowed to see its case (anyone else: 404)."""
    return document_response(selectors.evidence_get(request.user, pk))


def document_response(document) -> HttpResponse:
    """The stored file, as an attachment that can never run as a page; for whoever the
    caller has checked may read it."""
    pk = document.pk
    if storage.redirects_downloads():
        return HttpResponseRedirect(
            storage.backend().presigned_download_url(
                document.file.name,
                filename=document.original_name,
                content_type=document.content_type,
            )
        )
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        logger.error("Evidence %s is missing from private storage (%s)", pk, document.file.name)
        raise Http404("This file is not available.") from None
    except storage.StoreUnavailable:
        logger.exception("Evidence %s: the file store is unavailable", pk)
        return HttpResponse(
            "The file store is not answering. Try the download again in a few minutes.",
            status=503,
            content_type="text/plain; charset=utf-8",
            headers={"Retry-After": "60"},
        )
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )
    # Never let a browser second-guess the stored type and render an upload as HTML.
    response["X-Content-Type-Options"] = "nosniff"
    # And should one still show the file rather than save it (a PDF viewer, an old browser),
    # it opens in a sandbox: a unique origin with no scripts, forms, plugins or requests, so
    # nothing in an upload can act as the person viewing it. (Set here, the site-wide
    # policy leaves the header alone.)
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
