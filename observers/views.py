"""Observers' read-only pages (each one audited), and the regulator's page for granting and
revoking an observer's access to a case."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from devices.services import TransitionRefused
from devices.views.evidence import document_response
from observers import services
from observers.audit import observation_record
from observers.forms import GrantForm
from observers.models import ObservationKind, ObserverGrant
from reviews.views.access import lead_required


def observer_required(view):
    return login_required(permission_required(services.OBSERVE, raise_exception=True)(view))


@require_GET
@observer_required
def home(request: HttpRequest) -> HttpResponse:
    grants = list(services.live_grants(request.user))
    observation_record(observer=request.user, actor=request.user, kind=ObservationKind.VIEWED_LIST)
    return render(request, "observers/home.html", {"grants": grants})


@require_GET
@observer_required
def application(request: HttpRequest, pk: int) -> HttpResponse:
    """A granted case: its summary and history of states; its evidence if granted. Never
    internal notes, messages, assessments or signals."""
    grant = services.grant_for(request.user, pk)
    case = grant.application
    observation_record(
        observer=request.user,
        actor=request.user,
        kind=ObservationKind.VIEWED_CASE,
        application=case,
    )
    return render(
        request,
        "observers/application.html",
        {
            "grant": grant,
            "application": case,
            "events": case.events.order_by("created_at", "pk"),
            "evidence": case.evidence.filter(is_current=True) if grant.evidence else [],
        },
    )


@require_GET
@never_cache
@observer_required
def evidence_download(request: HttpRequest, pk: int) -> HttpResponse:
    document = services.evidence_for(request.user, pk)
    observation_record(
        observer=request.user,
        actor=request.user,
        kind=ObservationKind.DOWNLOADED,
        application=document.application,
        detail=f"{document.get_kind_display()}, version {document.version}",
    )
    return document_response(document)


@require_http_methods(["GET", "POST"])
@lead_required
def grants(request: HttpRequest, pk: int) -> HttpResponse:
    """Who observes this case; give an observer access (with or without its evidence)."""
    case = services.regulator_sees(request.user, pk)
    form = GrantForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.grant_give(
                actor=request.user,
                application_id=case.pk,
                observer=form.cleaned_data["observer"],
                evidence=form.cleaned_data["evidence"],
            )
        except (TransitionRefused, PermissionError) as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"{form.cleaned_data['observer']} can now follow {case}.")
            return redirect("observers:grants", case.pk)
    return render(
        request,
        "observers/grants.html",
        {"application": case, "grants": services.grants_on(case), "form": form},
    )


@require_POST
@lead_required
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one grant on this case (the grant's id is in the form)."""
    # The case as this lead may see it: a conflicted lead gets a 404, as everywhere.
    case = services.regulator_sees(request.user, pk)
    grant_id = request.POST.get("grant", "")
    grant = (
        ObserverGrant.objects.filter(pk=grant_id, application=case).first()
        if grant_id.isdecimal()
        else None
    )
    if grant is None:
        messages.error(request, "Choose an observer's access to revoke.")
        return redirect("observers:grants", case.pk)
    try:
        services.grant_revoke(actor=request.user, grant_id=grant.pk)
    except (TransitionRefused, PermissionError) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{grant.observer} no longer follows {case}.")
    return redirect("observers:grants", case.pk)
