"""A model change as the reviewer sees it, and the decision on one held outside the protocol."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from devices.models import ApplicationState
from devices.selectors import applications_for
from devices.services import TransitionRefused
from devices.testing_forms import add_service_errors
from reviews.model_changes import decisions_open, model_change_decide
from reviews.models import ModelChange, ModelChangeStatus
from reviews.monitoring_forms import ModelChangeDecisionForm
from reviews.views.access import reviewer_required


@reviewer_required
@require_http_methods(["GET", "POST"])
def model_change(request: HttpRequest, pk: int) -> HttpResponse:
    change = get_object_or_404(
        ModelChange.objects.filter(
            application__in=applications_for(request.user).exclude(state=ApplicationState.DRAFT)
        ).select_related("application__device", "notified_by", "decided_by", "model_version"),
        pk=pk,
    )
    held = change.status == ModelChangeStatus.HELD
    form = ModelChangeDecisionForm(
        request.POST if request.method == "POST" else None,
        decisions=decisions_open(change.application),
    )
    if request.method == "POST":
        if not held:
            messages.info(request, "This change has been decided already.")
            return redirect("reviews:model-change", pk=change.pk)
        if form.is_valid():
            try:
                model_change_decide(
                    actor=request.user,
                    change_id=change.pk,
                    decision=form.cleaned_data["decision"],
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            except (TransitionRefused, PermissionError) as exc:
                messages.error(request, str(exc))
                return redirect("reviews:model-change", pk=change.pk)
            else:
                messages.success(request, "Decision recorded; the manufacturer has been told.")
                return redirect("reviews:model-change", pk=change.pk)
    return render(
        request,
        "reviews/model_change.html",
        {
            "change": change,
            "application": change.application,
            "form": form if held else None,
            "history": change.audit_entries.select_related("actor").order_by("created_at", "pk"),
        },
    )
