"""The regulators' network in the review workspace: a partner's alert and our receipts for
it, and retracting one of our shared alerts."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from devices.services import TransitionRefused
from devices.testing_forms import add_service_errors
from reviews.models import IncomingAlert
from reviews.monitoring.dashboard import signals_for
from reviews.monitoring.signals import safety_signal_retract
from reviews.network import receipts, schema
from reviews.network.forms import ReceiptForm, RetractForm
from reviews.views.access import reviewer_required


def _render_alert(request: HttpRequest, alert: IncomingAlert, form: ReceiptForm | None = None):
    data = alert.payload.get("data", {}) if isinstance(alert.payload, dict) else {}
    codes = data.get("imdrf_codes") if isinstance(data.get("imdrf_codes"), list) else []
    return render(
        request,
        "reviews/incoming_alert_detail.html",
        {
            "alert": alert,
            "data": data,
            "device": data.get("device") if isinstance(data.get("device"), dict) else {},
            "finding": data.get("finding") if isinstance(data.get("finding"), dict) else None,
            "codes": schema.code_terms([c for c in codes if isinstance(c, dict) and "code" in c]),
            "receipts": alert.receipts_sent.select_related("created_by"),
            "form": form or ReceiptForm(),
        },
    )


@reviewer_required
@require_GET
def incoming_alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(IncomingAlert.objects.select_related("partner"), pk=pk)
    return _render_alert(request, alert)


@reviewer_required
@require_POST
def incoming_alert_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(IncomingAlert.objects.select_related("partner"), pk=pk)
    form = ReceiptForm(request.POST)
    if not form.is_valid():
        return _render_alert(request, alert, form)
    try:
        receipt = receipts.receipt_send(actor=request.user, alert_id=alert.pk, **form.cleaned_data)
    except ValidationError as exc:
        add_service_errors(form, exc)
        return _render_alert(request, alert, form)
    messages.success(
        request,
        f"{receipt.get_kind_display()} receipt recorded; it is being sent to {alert.partner}.",
    )
    return redirect("reviews:incoming-alert", pk=alert.pk)


@reviewer_required
@require_POST
def signal_retract(request: HttpRequest, pk: int) -> HttpResponse:
    signal = get_object_or_404(signals_for(request.user), pk=pk)
    form = RetractForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the alert is retracted.")
        return redirect("reviews:signal-detail", pk=signal.pk)
    try:
        safety_signal_retract(
            actor=request.user, signal_id=signal.pk, reason=form.cleaned_data["reason"]
        )
    except (TransitionRefused, PermissionError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Alert retracted: partners are being sent the retraction.")
    return redirect("reviews:signal-detail", pk=signal.pk)
