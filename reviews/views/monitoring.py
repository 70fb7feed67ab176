"""Monitoring controlled testing: performance per case, the programme dashboard, safety signals
and alerts from partner regulators."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from devices.services import TransitionRefused
from devices.testing_forms import add_service_errors
from reviews.models import IncomingAlert, PartnerRegulator, SignalStatus
from reviews.monitoring.dashboard import programme_dashboard, signals_for
from reviews.monitoring.performance import performance_series
from reviews.monitoring.signals import (
    safety_signal_raise,
    safety_signal_share,
    safety_signal_status_set,
)
from reviews.monitoring_forms import SafetySignalForm, SignalStatusForm
from reviews.network import receipts
from reviews.network.forms import RetractForm
from reviews.views.access import case_get, reviewer_required

PAGE_SIZE = 50
SIGNAL_FILTERS = {
    "active": ("Open or investigating", [SignalStatus.OPEN, SignalStatus.INVESTIGATING]),
    "closed": ("Closed", [SignalStatus.CLOSED]),
    "all": ("All", list(SignalStatus)),
}


@reviewer_required
@require_GET
def performance(request: HttpRequest, pk: int) -> HttpResponse:
    """Each agreed metric across the checkpoints, charted against its threshold, with the
    same figures in a table under each chart."""
    application = case_get(request, pk)
    series = performance_series(application)
    return render(
        request,
        "reviews/performance.html",
        {
            "application": application,
            "series": series,
            "chart_data": [s.chart_data() for s in series],
            "signals": signals_for(request.user).filter(application=application),
            "changes": application.model_changes.select_related("decided_by"),
        },
    )


@reviewer_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "reviews/dashboard.html", programme_dashboard(request.user))


@reviewer_required
@require_GET
def signal_list(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "active")
    if show not in SIGNAL_FILTERS:
        show = "active"
    signals = (
        signals_for(request.user)
        .filter(status__in=SIGNAL_FILTERS[show][1])
        .order_by("-raised_at", "-pk")
    )
    page = Paginator(signals, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reviews/signal_list.html",
        {"page": page, "show": show, "filters": SIGNAL_FILTERS},
    )


def _signal_get(request: HttpRequest, pk: int):
    return get_object_or_404(
        signals_for(request.user).select_related(
            "checkpoint_report__checkpoint", "incident", "application__organisation", "closed_by"
        ),
        pk=pk,
    )


def _render_signal(request: HttpRequest, signal, status_form: SignalStatusForm | None = None):
    return render(
        request,
        "reviews/signal_detail.html",
        {
            "signal": signal,
            "deliveries": signal.deliveries.select_related("partner").order_by(
                "partner__name", "-version"
            ),
            "receipts": receipts.partner_receipts(signal),
            "retract_form": RetractForm(),
            "status_form": status_form or SignalStatusForm(initial={"status": signal.status}),
            "history": signal.audit_entries.select_related("actor").order_by("created_at", "pk"),
            "partners": PartnerRegulator.objects.filter(is_active=True).exclude(webhook_url=""),
        },
    )


@reviewer_required
@require_GET
def signal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_signal(request, _signal_get(request, pk))


@reviewer_required
@require_POST
def signal_share(request: HttpRequest, pk: int) -> HttpResponse:
    signal = _signal_get(request, pk)
    try:
        queued = safety_signal_share(actor=request.user, signal_id=signal.pk)
    except (TransitionRefused, PermissionError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Shared with the partner network: it is in the alert feed, and {queued} webhook "
            f"deliver{'y' if queued == 1 else 'ies'} queued.",
        )
    return redirect("reviews:signal-detail", pk=signal.pk)


@reviewer_required
@require_POST
def signal_status(request: HttpRequest, pk: int) -> HttpResponse:
    signal = _signal_get(request, pk)
    form = SignalStatusForm(request.POST)
    if not form.is_valid():
        return _render_signal(request, signal, form)
    try:
        updated = safety_signal_status_set(
            actor=request.user,
            signal_id=signal.pk,
            status=form.cleaned_data["status"],
            findings=form.cleaned_data["findings"],
            actions=form.cleaned_data["actions"],
        )
    except ValidationError as exc:
        add_service_errors(form, exc)
        return _render_signal(request, signal, form)
    except PermissionError as exc:
        messages.error(request, str(exc))
    else:
        if updated.status == SignalStatus.CLOSED:
            messages.success(request, "Signal closed, with its resolution on the record.")
        else:
            messages.success(request, f"Status set to {updated.get_status_display().lower()}.")
    return redirect("reviews:signal-detail", pk=signal.pk)


@reviewer_required
@require_http_methods(["GET", "POST"])
def signal_raise(request: HttpRequest, pk: int) -> HttpResponse:
    application = case_get(request, pk)
    form = SafetySignalForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            signal = safety_signal_raise(
                actor=request.user, application_id=application.pk, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionError as exc:
            messages.error(request, str(exc))
            return redirect("reviews:performance", pk=application.pk)
        else:
            messages.success(request, "Safety signal raised.")
            return redirect("reviews:signal-detail", pk=signal.pk)
    return render(request, "reviews/signal_form.html", {"application": application, "form": form})


@reviewer_required
@require_GET
def incoming_alerts(request: HttpRequest) -> HttpResponse:
    alerts = IncomingAlert.objects.select_related("partner").order_by("-received_at", "-pk")
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "reviews/incoming_alerts.html", {"page": page})
