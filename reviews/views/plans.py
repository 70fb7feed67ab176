"""The testing plan: drafted by a reviewer, agreed by both sides, changed only by numbered
amendments that both sides agree too."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from devices.models import Application, ApplicationState
from devices.services import TransitionRefused, refusal_reason
from devices.testing_forms import add_service_errors
from reviews.models import PlanVersion, PlanVersionStatus
from reviews.plan_forms import (
    PlanVersionForm,
    ThresholdFormSet,
    WithdrawAmendmentForm,
    plan_details,
    threshold_initial,
)
from reviews.plan_terms import PLAN_EDITABLE_STATES, PLAN_FIELDS, open_version, plan_history
from reviews.plans import plan_version_save, plan_version_send, plan_version_withdraw
from reviews.selectors import testing_plan_of
from reviews.views.access import case_get, expected_state, refused, reviewer_required

S = ApplicationState


def _starting_point(application: Application, version, in_force):
    """What the form shows: the open version; else the plan in force, as the start of an
    amendment; else what the manufacturer asked for."""
    if version is not None:
        return version, threshold_initial(version.thresholds.all())
    if in_force is not None:
        terms = {name: getattr(in_force, name) for name in PLAN_FIELDS}
        return PlanVersion(application=application, **terms), threshold_initial(
            in_force.thresholds.all()
        )
    return (
        PlanVersion(
            application=application,
            environment=application.sandbox_environment,
            nhs_sites=application.nhs_sites,
        ),
        [],
    )


def _render(
    request: HttpRequest,
    application: Application,
    *,
    form: PlanVersionForm | None = None,
    formset=None,
    withdraw_form: WithdrawAmendmentForm | None = None,
) -> HttpResponse:
    in_force = testing_plan_of(application)
    version = open_version(application)
    testing_began = application.state != S.ACCEPTED
    if form is None:
        instance, initial = _starting_point(application, version, in_force)
        form = PlanVersionForm(instance=instance, in_force=in_force, testing_began=testing_began)
        formset = ThresholdFormSet(initial=initial, prefix="thresholds")
    history = plan_history(application)
    status = version.status(in_force.version if in_force else None) if version else None
    context = {
        "application": application,
        "plan": in_force,
        "version": version,
        "version_status": status,
        "history": history,
        "form": form,
        "formset": formset,
        "withdraw_form": withdraw_form or WithdrawAmendmentForm(),
        "editable": application.state in PLAN_EDITABLE_STATES,
        "may_send": status in {PlanVersionStatus.DRAFT, PlanVersionStatus.RETURNED},
        "begin_refusal": refusal_reason(application, "begin_testing", request.user),
    }
    return render(request, "reviews/testing_plan.html", context)


@reviewer_required
@require_http_methods(["GET", "POST"])
def testing_plan(request: HttpRequest, pk: int) -> HttpResponse:
    application = case_get(request, pk)
    if request.method == "GET":
        return _render(request, application)
    in_force = testing_plan_of(application)
    form = PlanVersionForm(
        request.POST, in_force=in_force, testing_began=application.state != S.ACCEPTED
    )
    # A bound formset gets no initial rows: a posted row that matches the saved threshold
    # must still count as a row, not as an untouched spare.
    formset = ThresholdFormSet(request.POST, prefix="thresholds")
    if form.is_valid() and formset.is_valid():
        try:
            version = plan_version_save(
                application_id=application.pk,
                actor=request.user,
                details=plan_details(form, formset),
                expected_state=expected_state(request),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except (TransitionRefused, PermissionError) as error:
            refused(request, error)
            return redirect("reviews:testing-plan", pk=application.pk)
        else:
            what = "The plan" if version.number == 1 else f"Amendment {version.number - 1}"
            messages.success(
                request,
                f"{what} is saved as a draft. Nothing changes until you agree it and send it, "
                "and the manufacturer agrees it too.",
            )
            return redirect("reviews:testing-plan", pk=application.pk)
    return _render(request, application, form=form, formset=formset)


@reviewer_required
@require_POST
def send(request: HttpRequest, pk: int) -> HttpResponse:
    application = case_get(request, pk)
    try:
        version = plan_version_send(
            application_id=application.pk,
            actor=request.user,
            expected_state=expected_state(request),
        )
    except (TransitionRefused, PermissionError) as error:
        refused(request, error)
        return redirect("reviews:testing-plan", pk=application.pk)
    what = "the testing plan" if version.number == 1 else f"amendment {version.number - 1}"
    messages.success(
        request,
        f"You agreed {what} and sent it to {application.organisation}. It takes effect when "
        "they agree it; they have been told.",
    )
    return redirect("reviews:testing-plan", pk=application.pk)


@reviewer_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    application = case_get(request, pk)
    form = WithdrawAmendmentForm(request.POST)
    if not form.is_valid():
        return _render(request, application, withdraw_form=form)
    try:
        plan_version_withdraw(
            application_id=application.pk,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            expected_state=expected_state(request),
        )
    except ValidationError as error:
        add_service_errors(form, error)
        return _render(request, application, withdraw_form=form)
    except (TransitionRefused, PermissionError) as error:
        refused(request, error)
        return redirect("reviews:testing-plan", pk=application.pk)
    messages.success(request, "The amendment is withdrawn; the plan in force is unchanged.")
    return redirect("reviews:testing-plan", pk=application.pk)
