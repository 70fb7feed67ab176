"""The reviewers' side of a call's selection: the standings, scoring, moderation, the lead
reviewer's choice and the selection report."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from calls import selection
from calls.forms import ModerateForm, ScoreForm, SelectForm
from calls.models import Call, SelectionEvent
from devices.selectors import applications_for
from devices.services import TransitionRefused
from devices.views.access import posted
from reviews.views.access import case_get, lead_required, reviewer_required


def _page(request: HttpRequest, call: Call, *, select_form=None) -> HttpResponse:
    standings = selection.standings(call, request.user, within=applications_for(request.user))
    return render(
        request,
        "calls/selection.html",
        {
            "call": call,
            "standings": standings,
            "min_scorers": selection.MIN_SCORERS,
            "select_form": select_form or SelectForm(standings=standings),
            "is_lead": request.user.has_perm("airlock.lead_review"),
        },
    )


@require_GET
@reviewer_required
def selection_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The call's eligible applications, best first, with the scores this reviewer may see."""
    return _page(request, get_object_or_404(Call, pk=pk))


def _call_case(request: HttpRequest, pk: int):
    application = case_get(request, pk)
    if application.call_id is None:
        raise Http404("This application answers no call.")
    return application


@require_http_methods(["GET", "POST"])
@reviewer_required
def score(request: HttpRequest, pk: int) -> HttpResponse:
    """Score one application, independently: no one else's scores are shown here."""
    application = _call_case(request, pk)
    criteria = list(application.call.selection_criteria.all())
    form = ScoreForm(posted(request), criteria=criteria)
    if request.method == "POST" and form.is_valid():
        try:
            selection.score_submit(
                actor=request.user,
                application_id=application.pk,
                scores=form.scores(),
                comment=form.cleaned_data["comment"],
            )
        except (TransitionRefused, PermissionError) as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"Your scores for {application.reference} are recorded.")
        return redirect("calls:selection", application.call_id)
    return render(request, "calls/score.html", {"application": application, "form": form})


@require_http_methods(["GET", "POST"])
@lead_required
def moderate(request: HttpRequest, pk: int) -> HttpResponse:
    """Settle two reviewers' disagreement: the total the application is ranked by, and why."""
    application = _call_case(request, pk)
    row = next(
        (
            r
            for r in selection.standings(application.call, request.user)
            if r.application.pk == application.pk
        ),
        None,
    )
    if row is None or not row.flagged:
        messages.info(request, f"{application.reference} has no disagreement to moderate.")
        return redirect("calls:selection", application.call_id)
    form = ModerateForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            selection.moderate(
                actor=request.user,
                application_id=application.pk,
                total=form.cleaned_data["total"],
                note=form.cleaned_data["note"],
            )
        except (TransitionRefused, PermissionError) as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"{application.reference} is moderated.")
        return redirect("calls:selection", application.call_id)
    # Moderating is deciding between the scores: the lead sees them all, scored or not.
    everyone = application.selection_scores.select_related("reviewer")
    return render(
        request,
        "calls/moderate.html",
        {"application": application, "scores": everyone, "form": form, "row": row},
    )


@require_POST
@lead_required
def select(request: HttpRequest, pk: int) -> HttpResponse:
    call = get_object_or_404(Call, pk=pk)
    standings = selection.standings(call, request.user, within=applications_for(request.user))
    form = SelectForm(request.POST, standings=standings)
    if not form.is_valid():
        return _page(request, call, select_form=form)
    try:
        selection.selection_make(
            actor=request.user,
            call_id=call.pk,
            selected_ids=form.cleaned_data["selected"],
            reason=form.cleaned_data["reason"],
        )
    except (TransitionRefused, PermissionError) as error:
        messages.error(request, str(error))
        return redirect("calls:selection", call.pk)
    messages.success(request, f"The selection for “{call}” is made; every applicant is told.")
    return redirect("calls:report", call.pk)


@require_GET
@reviewer_required
def report(request: HttpRequest, pk: int) -> HttpResponse:
    """The selection report: each eligible application's scores, moderation and outcome, and
    the audit trail of the selection."""
    call = get_object_or_404(Call, pk=pk)
    visible = applications_for(request.user)
    return render(
        request,
        "calls/report.html",
        {
            "call": call,
            "standings": selection.report_rows(call, request.user, within=visible),
            "events": SelectionEvent.objects.filter(call=call, application__in=visible)
            .select_related("application", "actor")
            .order_by("created_at", "pk"),
        },
    )
