"""Conflicts of interest: each reviewer declares their own."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from devices.services import TransitionRefused
from reviews.forms import ConflictForm
from reviews.selectors import conflicts_of
from reviews.services import conflict_declare
from reviews.views.access import refused, reviewer_required


@reviewer_required
@require_http_methods(["GET", "POST"])
def conflicts(request: HttpRequest) -> HttpResponse:
    form = ConflictForm(request.POST if request.method == "POST" else None, reviewer=request.user)
    if request.method == "POST" and form.is_valid():
        organisation = form.cleaned_data["organisation"]
        try:
            conflict_declare(
                actor=request.user, organisation=organisation, reason=form.cleaned_data["reason"]
            )
        except (TransitionRefused, PermissionError) as error:
            refused(request, error)
        else:
            messages.success(
                request,
                f"Conflict of interest with {organisation} declared. Its cases are now hidden "
                "from you and any assigned to you are unassigned.",
            )
        return redirect("reviews:conflicts")
    return render(
        request,
        "reviews/conflicts.html",
        {"form": form, "conflicts": conflicts_of(user=request.user)},
    )
