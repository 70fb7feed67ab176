"""The application review page and the small actions on it: assignment, notes, messages and
the state changes that need no page of their own."""

from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from devices.models import Application, ApplicationState
from devices.selectors import timeline
from devices.services import (
    TransitionRefused,
    application_transition,
    available_actions,
    message_post,
    refusal_reason,
)
from postclearance.selectors import monitoring_plans_of, running_plan
from reviews.decisions import decision_record
from reviews.forms import AssignForm, MessageForm, NoteForm, ReasonForm
from reviews.models import DecisionKind
from reviews.plan_terms import open_version
from reviews.selectors import decisions_of, screening_rows, testing_plan_of
from reviews.services import application_assign, application_claim, internal_note_add
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

# State changes taken straight from the review page, each with an optional or required reason.
PANEL_TRANSITIONS = ("start_screening", "begin_testing", "suspend", "resume")
# "Extend testing" is a decision: it is recorded with its rationale as well as moving the case.
PANEL_ACTIONS = (*PANEL_TRANSITIONS, "extend_testing")
WITH_REASON = {"suspend", "resume", "extend_testing"}
# Actions that have a page of their own, where the decision is made with its context and
# confirmed on a page that says what will happen.
ACTION_PAGES = {
    "request_information": ("reviews:information-request", ""),
    "accept": ("reviews:screening", "#decide"),
    "reject": ("reviews:screening", "#decide"),
    "complete_testing": ("reviews:complete-testing", ""),
    "not_clear": ("reviews:decision", ""),
    "clear": ("reviews:countersign", ""),
}


@dataclass
class PanelAction:
    name: str
    label: str
    refusal: str | None
    url: str = ""
    form: ReasonForm | None = None
    posts: bool = False


def _panel(request: HttpRequest, application: Application, bound: ReasonForm | None):
    actions = []
    for action in available_actions(application, request.user):
        name = action["name"]
        item = PanelAction(name=name, label=action["label"], refusal=action["refusal"])
        if name in PANEL_ACTIONS:
            item.posts = True
            item.url = reverse("reviews:transition", args=[application.pk, name])
            if name in WITH_REASON:
                item.form = bound if bound and bound.action == name else ReasonForm(action=name)
        elif name in ACTION_PAGES:
            url_name, anchor = ACTION_PAGES[name]
            item.url = reverse(url_name, args=[application.pk]) + anchor
        else:
            # The manufacturer's own actions (submit, respond, withdraw) are not ours to offer.
            continue
        actions.append(item)
    if application.state == S.SUSPENDED and not any(a.name == "resume" for a in actions):
        # Resuming may be a lead reviewer's call: say so rather than leave no way forward.
        refusal = refusal_reason(application, "resume", request.user)
        if refusal:
            actions.append(PanelAction(name="resume", label="Resume testing", refusal=refusal))
    return actions


def render_case(
    request: HttpRequest,
    application: Application,
    *,
    status: int = 200,
    note_form: NoteForm | None = None,
    message_form: MessageForm | None = None,
    assign_form: AssignForm | None = None,
    reason_form: ReasonForm | None = None,
) -> HttpResponse:
    is_lead = request.user.has_perm(LEAD_PERMISSION)
    evidence = application.evidence.select_related("uploaded_by").order_by(
        "kind", "-is_current", "-version"
    )
    screening = screening_rows(application)
    plan = testing_plan_of(application)
    open_plan = open_version(application)
    # After clearance only: the plans a cleared device reports under, if any.
    monitoring_plans = (
        monitoring_plans_of(application) if application.state == ApplicationState.CLEARED else []
    )
    context = {
        "application": application,
        "device": application.device,
        "evidence": evidence,
        "timeline": timeline(application),
        "notes": application.internal_notes.select_related("author"),
        "actions": _panel(request, application, reason_form),
        "open_request": application.open_information_request(),
        "screening": screening,
        "screening_assessed": sum(1 for row in screening if row.assessment),
        "plan": plan,
        "open_plan": open_plan,
        "open_plan_status": open_plan.status(plan.version if plan else None) if open_plan else None,
        "decisions": decisions_of(application),
        "pending_clearance": application.pending_clearance(),
        "monitoring_plans": monitoring_plans,
        # The running one, under which incidents and model changes are taken.
        "monitoring_plan": running_plan(monitoring_plans),
        "is_lead": is_lead,
        "note_form": note_form or NoteForm(),
        "message_form": message_form or MessageForm(),
        "assign_form": assign_form or (AssignForm() if is_lead else None),
    }
    return render(request, "reviews/application.html", context, status=status)


@reviewer_required
@require_GET
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_case(request, case_get(request, pk))


@reviewer_required
@require_POST
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    application = case_get(request, pk)
    try:
        application_claim(application_id=application.pk, actor=request.user)
    except (TransitionRefused, PermissionError) as error:
        refused(request, error)
    else:
        messages.success(request, f"{application} is now assigned to you.")
    return redirect(case_url(application))


@lead_required
@require_POST
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    application = case_get(request, pk)
    form = AssignForm(request.POST)
    if not form.is_valid():
        return render_case(request, application, assign_form=form)
    reviewer = form.cleaned_data["reviewer"]
    try:
        application_assign(application_id=application.pk, actor=request.user, reviewer=reviewer)
    except (TransitionRefused, PermissionError) as error:
        refused(request, error)
    else:
        messages.success(request, f"{application} is now assigned to {reviewer}.")
    return redirect(case_url(application))


@reviewer_required
@require_POST
def note_add(request: HttpRequest, pk: int) -> HttpResponse:
    application = case_get(request, pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return render_case(request, application, note_form=form)
    try:
        internal_note_add(
            application_id=application.pk, actor=request.user, body=form.cleaned_data["body"]
        )
    except (TransitionRefused, PermissionError) as error:
        refused(request, error)
    else:
        messages.success(request, "Internal note added.")
    return redirect(case_url(application, "#notes"))


@reviewer_required
@require_POST
def message_add(request: HttpRequest, pk: int) -> HttpResponse:
    application = case_get(request, pk)
    form = MessageForm(request.POST)
    if not form.is_valid():
        return render_case(request, application, message_form=form)
    try:
        sent = message_post(
            application=application, author=request.user, body=form.cleaned_data["body"]
        )
    except (TransitionRefused, PermissionError) as error:
        refused(request, error)
    else:
        messages.success(request, f"Message sent to the manufacturer. {sent.told}")
    return redirect(case_url(application, "#timeline"))


@reviewer_required
@require_POST
def transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """The state changes taken from the review page's action panel."""
    if action not in PANEL_ACTIONS:
        raise Http404("No such action.")
    application = case_get(request, pk)
    form = ReasonForm(request.POST, action=action)
    if not form.is_valid():
        return render_case(request, application, reason_form=form)
    reason = form.cleaned_data["reason"]
    try:
        if action == "extend_testing":
            decision_record(
                application_id=application.pk,
                actor=request.user,
                kind=DecisionKind.EXTEND_TESTING,
                rationale=reason,
                expected_state=expected_state(request),
            )
        else:
            application_transition(
                application_id=application.pk,
                action=action,
                actor=request.user,
                reason=reason,
                expected_state=expected_state(request),
            )
    except (TransitionRefused, PermissionError) as error:
        refused(request, error)
        return redirect(case_url(application))
    application.refresh_from_db()
    messages.success(request, f"{application} is now {application.state_enum.in_words}.")
    if action == "start_screening":
        return redirect("reviews:screening", pk=application.pk)
    return redirect(case_url(application))
