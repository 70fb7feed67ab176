"""A case's documents for the people on it, and the public verification page."""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods

from airlock.api_limits import address_over_limit
from devices.selectors import applications_for
from documents.bundles import bundle_refusal, case_bundle_build
from documents.forms import VerifyForm
from documents.models import CaseDocument
from ledger import signing

logger = logging.getLogger(__name__)


@login_required
@require_GET
def download(request: HttpRequest, pk: int) -> HttpResponse:
    """The stored PDF, byte for byte, to someone who may see its case (anyone else: 404)."""
    document = get_object_or_404(
        CaseDocument.objects.select_related("application"),
        pk=pk,
        application__in=applications_for(request.user),
    )
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        logger.error("Document %s is missing from private storage", document.reference)
        raise Http404("This file is not available.") from None
    response = FileResponse(
        handle, as_attachment=True, filename=document.filename, content_type="application/pdf"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def bundle(request: HttpRequest, pk: int) -> HttpResponse:
    """The case bundle zip: lead reviewers and administrators, or the case's manufacturer."""
    application = get_object_or_404(applications_for(request.user), pk=pk)
    refusal = bundle_refusal(request.user, application)
    if refusal:
        raise PermissionDenied(refusal)
    response = FileResponse(
        case_bundle_build(actor=request.user, application=application),
        as_attachment=True,
        filename=f"{application.reference}-bundle.zip",
        content_type="application/zip",
    )
    return response


@require_GET
def bundle_public_key(request: HttpRequest) -> HttpResponse:
    """The key that signs case bundles, for verify_bundle.py --public-key."""
    return HttpResponse(signing.public_key_hex() + "\n", content_type="text/plain; charset=utf-8")


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Anyone, signed in or not: is this a document Airlock issued? The answer says when, for
    which case, and whether it was revoked; nothing else about the case or the document."""
    if request.method == "POST" and address_over_limit(
        request, "verify", settings.VERIFY_REQUESTS_PER_MINUTE
    ):
        response = render(request, "documents/verify.html", {"form": VerifyForm(), "busy": True})
        response.status_code = 429
        response["Retry-After"] = "60"
        return response
    form = VerifyForm(request.POST, request.FILES) if request.method == "POST" else VerifyForm()
    context = {"form": form}
    if form.is_bound and form.is_valid():
        document = (
            CaseDocument.objects.filter(sha256=form.cleaned_data["sha256"])
            .select_related("application", "revocation")
            .first()
        )
        context |= {"checked": form.cleaned_data["sha256"], "document": document}
        if document is not None:
            context["revocation"] = getattr(document, "revocation", None)
        context["form"] = VerifyForm()
    return render(request, "documents/verify.html", context)
