"""Screening against the eligibility criteria, accepting or rejecting, and information
requests."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from devices.models import Application, ApplicationState
from devices.services import TransitionRefused, refusal_reason
from reviews.forms import AcceptForm, InformationRequestForm, RejectForm, ScreeningAssessmentForm
from reviews.selectors import screening_rows
from reviews.services import (
    application_accept,
    application_reject,
    information_request_create,
    screening_assess,
)
from reviews.views.access import case_get, case_url, expected_state, refused, reviewer_required

S = ApplicationState


def _assessment_forms(application: Application, rows, data=None) -> list:
    forms = []
    for row in rows:
        initial = {}
        if row.assessment:
            initial = {"outcome": row.assessment.outcome, "comment": row.assessment.comment}
        forms.append(ScreeningAssessmentForm(data, criterion=row.criterion, initial=initial))
    return forms


def _render_screening(
    request: HttpRequest,
    application: Application,
    *,
    forms: list | None = None,
    accept_form: AcceptForm | None = None,
    reject_form: RejectForm | None = None,
) -> HttpResponse:
    rows = screening_rows(application)
    forms = forms or _assessment_forms(application, rows)
    context = {
        "application": application,
        "rows": list(zip(rows, forms, strict=True)),
        "criteria": rows,
        "assessment_forms": forms,
        "editable": application.state == S.SCREENING,
        "accept_form": accept_form or AcceptForm(),
        "reject_form": reject_form or RejectForm(),
        "accept_refusal": refusal_reason(application, "accept", request.user),
        "reject_refusal": refusal_reason(application, "reject", request.user),
        "start_refusal": refusal_reason(application, "start_screening", request.user),
    }
    return render(request, "reviews/screening.html", context)


@reviewer_required
@require_http_methods(["GET", "POST"])
def screening(request: HttpRequest, pk: int) -> HttpResponse:
    application = case_get(request, pk)
    if request.method == "GET":
        return _render_screening(request, application)
    rows = screening_rows(application)
    forms = _assessment_forms(application, rows, request.POST)
    if not all(form.is_valid() for form in forms):
        return _render_screening(request, application, forms=forms)
    outcomes = [o for o in (form.criterion_outcome() for form in forms) if o is not None]
    try:
        saved = screening_assess(
            application_id=application.pk,
            actor=request.user,
            outcomes=outcomes,
            expected_state=expected_state(request),
        )
    except (TransitionRefused, PermissionError) as error:
        refused(request, error)
    else:
        total = len(rows)
        messages.success(request, f"Saved {saved} of {total} criteria.")
    return redirect("reviews:screening", pk=application.pk)


@reviewer_required
@require_POST
def accept(request: HttpRequest, pk: int) -> HttpResponse:
    application = case_get(request, pk)
    form = AcceptForm(request.POST)
    if not form.is_valid():
        return _render_screening(request, application, accept_form=form)
    try:
        application_accept(
            application_id=application.pk,
            actor=request.user,
            cohort=form.cleaned_data["cohort"],
            rationale=form.cleaned_data["rationale"],
            expected_state=expected_state(request),
        )
    except (TransitionRefused, PermissionError) as error:
        refused(request, error)
        return redirect("reviews:screening", pk=application.pk)
    messages.success(
        request,
        f"{application} is accepted into {form.cleaned_data['cohort']}. Next: agree its "
        "testing plan.",
    )
    return redirect(case_url(application))


@reviewer_required
@require_POST
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    """Reject in two steps: the form, then a page saying the case closes for good, whose
    button rejects."""
    application = case_get(request, pk)
    form = RejectForm(request.POST)
    if not form.is_valid() or "back" in request.POST:
        return _render_screening(request, application, reject_form=form)
    if "confirm" not in request.POST:
        refusal = refusal_reason(application, "reject", request.user)
        if refusal:
            refused(request, TransitionRefused(refusal))
            return redirect("reviews:screening", pk=application.pk)
        return render(
            request, "reviews/reject_confirm.html", {"application": application, "form": form}
        )
    try:
        application_reject(
            application_id=application.pk,
            actor=request.user,
            rationale=form.cleaned_data["rationale"],
            expected_state=expected_state(request),
        )
    except (TransitionRefused, PermissionError) as error:
        refused(request, error)
        return redirect("reviews:screening", pk=application.pk)
    messages.success(request, f"{application} is rejected. The manufacturer has been told.")
    return redirect(case_url(application))


@reviewer_required
@require_http_methods(["GET", "POST"])
def information_request(request: HttpRequest, pk: int) -> HttpResponse:
    application = case_get(request, pk)
    form = InformationRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            information_request_create(
                application_id=application.pk,
                actor=request.user,
                questions=form.cleaned_data["questions"],
                due_on=form.cleaned_data["due_on"],
                expected_state=expected_state(request),
            )
        except (TransitionRefused, PermissionError) as error:
            refused(request, error)
            return redirect("reviews:information-request", pk=application.pk)
        messages.success(
            request,
            f"Questions sent to the manufacturer. The review clock of {application} is paused.",
        )
        return redirect(case_url(application))
    context = {
        "application": application,
        "form": form,
        "refusal": refusal_reason(application, "request_information", request.user),
        "requests": application.information_requests.select_related("requested_by", "responded_by"),
    }
    return render(request, "reviews/information_request.html", context)
