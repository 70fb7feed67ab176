"""Lead reviewers' and administrators' pages for setting up a call and changing it."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from calls.call_forms import CallForm, CriterionFormSet, criteria_initial
from calls.models import Call
from calls.services import CallRefused, CallTerms, call_locks, call_save
from devices.views.access import posted
from reviews.views.access import lead_required


def _call_page(request: HttpRequest, call: Call | None) -> HttpResponse:
    locks = call_locks(call)
    data = posted(request)
    form = CallForm(data, call=call, locks=locks)
    formset = CriterionFormSet(data, initial=criteria_initial(call), prefix="criteria")
    criteria_fixed = "criteria" in locks
    criteria_error = ""
    # Fixed criteria are not on the page: the call keeps its own.
    if request.method == "POST":
        # Both checked, so every error shows at once.
        valid = [form.is_valid(), criteria_fixed or formset.is_valid()]
    if request.method == "POST" and all(valid):
        criteria = CallTerms.of(call).criteria if criteria_fixed else formset.criteria()
        try:
            saved, changed = call_save(
                actor=request.user, terms=form.terms(criteria), call_id=call.pk if call else None
            )
        except CallRefused as refused:
            criteria_error = form.add_refusals(refused.problems).get("criteria", "")
        else:
            if call is None:
                messages.success(request, f"The call “{saved}” is set up.")
            elif changed:
                messages.success(request, f"Your changes to “{saved}” are saved.")
            else:
                messages.info(request, f"Nothing changed in “{saved}”.")
            return redirect("calls:edit", saved.pk)
    return render(
        request,
        "calls/edit.html",
        {
            "call": call,
            "form": form,
            "formset": formset,
            "criteria_fixed": locks.reasons.get("criteria", ""),
            "criteria_error": criteria_error,
            # The page's one error summary: the call's fields, then each criterion's.
            "error_forms": [form, *([] if criteria_fixed else formset.forms)],
            "criteria_errors": [
                *([] if criteria_fixed else formset.non_form_errors()),
                *([criteria_error] if criteria_error else []),
            ],
            "events": call.events.select_related("actor")[:20] if call else [],
        },
    )


@require_http_methods(["GET", "POST"])
@lead_required
def call_create(request: HttpRequest) -> HttpResponse:
    return _call_page(request, None)


@require_http_methods(["GET", "POST"])
@lead_required
def call_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a call: terms fixed by what has happened are shown, not offered."""
    return _call_page(request, get_object_or_404(Call, pk=pk))
