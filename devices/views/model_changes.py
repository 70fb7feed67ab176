"""The manufacturer's record of its model: the versions in use and the changes notified."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from devices.model_change_forms import ModelChangeForm
from devices.selectors import application_get
from devices.services import TransitionRefused
from devices.testing_forms import add_service_errors
from devices.views.access import refuse_viewers
from reviews.model_changes import (
    ChangeDetails,
    evidence_required,
    model_change_notify,
    notify_refusal,
)
from reviews.models import ModelChangeStatus, TestingPlan

manufacturer_required = permission_required("devices.act_for_organisation", raise_exception=True)

OUTCOME = {
    ModelChangeStatus.RECORDED: (
        messages.SUCCESS,
        "It is within the change protocol: version {label} is recorded and in use, and your "
        "reviewer has been told.",
    ),
    ModelChangeStatus.HELD: (
        messages.WARNING,
        "It is outside the change protocol, so it is held for your reviewer to decide: {problems}",
    ),
    ModelChangeStatus.REFUSED: (
        messages.ERROR,
        "It was refused: {problems} Notify it again with what is missing.",
    ),
}


@login_required
@manufacturer_required
@require_http_methods(["GET", "POST"])
def model_changes(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method == "POST":
        refuse_viewers(request)
    application = application_get(request.user, pk)
    plan = TestingPlan.objects.filter(application=application).first()
    # During testing, and after clearance under a running monitoring plan (the service's rule).
    refusal = notify_refusal(application)
    can_notify = not refusal
    form = ModelChangeForm(
        request.POST if request.method == "POST" and can_notify else None,
        evidence_items=evidence_required(plan),
    )
    if request.method == "POST" and can_notify and form.is_valid():
        data = form.cleaned_data
        try:
            change = model_change_notify(
                actor=request.user,
                application_id=application.pk,
                details=ChangeDetails(
                    kind=data["kind"],
                    version_label=data["version_label"],
                    released_on=data["released_on"],
                    description=data["description"],
                    training_data_summary=data["training_data_summary"],
                    sha256=data["sha256"],
                    validation_metrics=data["validation_figures"],
                    evidence=form.evidence(),
                ),
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and "validation_metrics" in exc.error_dict:
                exc = ValidationError(
                    {
                        ("validation_figures" if k == "validation_metrics" else k): v
                        for k, v in exc.message_dict.items()
                    }
                )
            add_service_errors(form, exc)
        except (TransitionRefused, PermissionError) as exc:
            messages.error(request, str(exc))
            return redirect("devices:model-changes", pk=application.pk)
        else:
            level, words = OUTCOME[change.status]
            messages.add_message(
                request,
                level,
                f"Model change to {change.version_label} notified. "
                + words.format(label=change.version_label, problems=" ".join(change.problems)),
            )
            return redirect("devices:model-changes", pk=application.pk)
    return render(
        request,
        "devices/model_changes.html",
        {
            "application": application,
            "plan": plan,
            "versions": application.device.model_versions.order_by("-recorded_at", "-pk"),
            "changes": application.model_changes.select_related("notified_by", "decided_by"),
            "form": form if can_notify else None,
            "refusal": refusal,
        },
    )
