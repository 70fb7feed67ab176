"""Evidence review against the GMLP principles, decisions, and the four-eyes countersignature
of clearances."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from devices.models import Application, ApplicationState
from devices.services import TransitionRefused, refusal_reason
from reviews.decisions import (
    clearance_countersign,
    clearance_refusal,
    clearance_withdraw,
    decision_record,
    evidence_assess,
)
from reviews.forms import DecisionForm, GmlpFormSet, WithdrawClearanceForm
from reviews.models import DecisionKind, GmlpPrinciple
from reviews.safety import safety_record
from reviews.selectors import decisions_of, gmlp_rows, pending_clearances
from reviews.views.access import (
    LEAD_PERMISSION,
    case_get,
    case_url,
    expected_state,
    lead_required,
    refused,
    reviewer_required,
)

S = ApplicationState


def _gmlp_formset(application: Application, data=None):
    initial = []
    for row in gmlp_rows(application):
        item = {"principle": row.principle.value}
        if row.assessment:
            item.update(rating=row.assessment.rating, comment=row.assessment.comment)
        initial.append(item)
    return GmlpFormSet(data, initial=initial, prefix="gmlp")


@reviewer_required
@require_http_methods(["GET", "POST"])
def evidence_review(request: HttpRequest, pk: int) -> HttpResponse:
    application = case_get(request, pk)
    formset = _gmlp_formset(application, request.POST if request.method == "POST" else None)
    if request.method == "POST" and formset.is_valid():
        try:
            saved = evidence_assess(
                application_id=application.pk,
                actor=request.user,
                ratings=formset.ratings(),
                expected_state=expected_state(request),
            )
        except (TransitionRefused, PermissionError) as error:
            refused(request, error)
        else:
            messages.success(request, f"Saved {saved} of {len(GmlpPrinciple)} principles.")
        return redirect("reviews:evidence-review", pk=application.pk)
    # Pair forms with principles by the principle each form was built for, not by position:
    # a tampered management form can change how many forms come back.
    forms = {form.initial.get("principle"): form for form in formset.forms}
    rows = gmlp_rows(application)
    context = {
        "application": application,
        "formset": formset,
        "rows": [(row, forms.get(row.principle.value)) for row in rows],
        "principles": rows,
        "editable": application.state == S.EVIDENCE_REVIEW,
        "evidence": application.evidence.filter(is_current=True),
    }
    return render(request, "reviews/evidence_review.html", context)


def _decision_context(request: HttpRequest, application: Application) -> dict:
    rows = gmlp_rows(application)
    pending = application.pending_clearance()
    return {
        "application": application,
        "principles": rows,
        "assessed": sum(1 for row in rows if row.assessment),
        "decisions": decisions_of(application),
        "pending": pending,
        "safety": safety_record(application),
        "clearance_refusal": clearance_refusal(application, request.user),
        "decidable": application.state == S.EVIDENCE_REVIEW,
        "may_withdraw": pending is not None
        and (pending.decided_by_id == request.user.pk or request.user.has_perm(LEAD_PERMISSION)),
    }


def _render_decision(
    request: HttpRequest,
    application: Application,
    *,
    form: DecisionForm | None = None,
    withdraw_form: WithdrawClearanceForm | None = None,
) -> HttpResponse:
    context = _decision_context(request, application)
    context.update(
        form=form or DecisionForm(lead=request.user.has_perm(LEAD_PERMISSION)),
        withdraw_form=withdraw_form or WithdrawClearanceForm(),
    )
    return render(request, "reviews/decision.html", context)


@reviewer_required
@require_http_methods(["GET", "POST"])
def decision(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a decision in two steps: the form (with the whole safety record in sight), then a
    page saying what the decision will do and what cannot be undone, whose button acts."""
    application = case_get(request, pk)
    if request.method == "GET":
        return _render_decision(request, application)
    form = DecisionForm(request.POST, lead=request.user.has_perm(LEAD_PERMISSION))
    if not form.is_valid() or "back" in request.POST:
        return _render_decision(request, application, form=form)
    kind = form.cleaned_data["kind"]
    if kind == DecisionKind.CLEAR:
        refusal = clearance_refusal(application, request.user)
        if refusal:
            form.add_error("kind", refusal)
            return _render_decision(request, application, form=form)
    if "confirm" not in request.POST:
        context = _decision_context(request, application)
        context.update(form=form, kind=DecisionKind(kind))
        return render(request, "reviews/decision_confirm.html", context)
    try:
        decision_record(
            application_id=application.pk,
            actor=request.user,
            kind=kind,
            rationale=form.cleaned_data["rationale"],
            expected_state=expected_state(request),
        )
    except (TransitionRefused, PermissionError) as error:
        refused(request, error)
        return redirect("reviews:decision", pk=application.pk)
    if kind == DecisionKind.CLEAR:
        messages.success(
            request,
            "Clearance proposed. It takes effect when a lead reviewer other than you "
            "countersigns it; the lead reviewers have been told.",
        )
        return redirect("reviews:decision", pk=application.pk)
    application.refresh_from_db()
    messages.success(request, f"{application} is now {application.state_enum.in_words}.")
    return redirect(case_url(application))


@lead_required
@require_GET
def countersignatures(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reviews/countersignatures.html",
        {"pending": pending_clearances(user=request.user)},
    )


@lead_required
@require_http_methods(["GET", "POST"])
def countersign(request: HttpRequest, pk: int) -> HttpResponse:
    """The countersign page: the proposal and the whole safety record, what countersigning
    does and that it cannot be undone; its button clears the device."""
    application = case_get(request, pk)
    if request.method == "GET":
        context = _decision_context(request, application)
        context["countersign_refusal"] = refusal_reason(application, "clear", request.user)
        return render(request, "reviews/countersign.html", context)
    try:
        clearance_countersign(
            application_id=application.pk,
            actor=request.user,
            expected_state=expected_state(request),
        )
    except (TransitionRefused, PermissionError) as error:
        refused(request, error)
        return redirect("reviews:countersign", pk=application.pk)
    messages.success(request, f"Clearance countersigned: {application} is cleared.")
    return redirect(case_url(application))


@reviewer_required
@require_POST
def withdraw_clearance(request: HttpRequest, pk: int) -> HttpResponse:
    application = case_get(request, pk)
    form = WithdrawClearanceForm(request.POST)
    if not form.is_valid():
        return _render_decision(request, application, withdraw_form=form)
    try:
        clearance_withdraw(
            application_id=application.pk,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            expected_state=expected_state(request),
        )
    except (TransitionRefused, PermissionError) as error:
        refused(request, error)
    else:
        messages.success(request, "The proposed clearance is withdrawn.")
    return redirect("reviews:decision", pk=application.pk)
