"""The manufacturer's dashboard, the application form, the case page and its actions."""

from dataclasses import dataclass

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from calls.models import Call
from devices import selectors, services
from devices.forms import (
    ChallengeStepForm,
    DeviceStepForm,
    DraftStepForm,
    EvidenceUploadForm,
    InformationResponseForm,
    MaturityStepForm,
    MessageForm,
    WithdrawForm,
)
from devices.models import (
    REQUIRED_EVIDENCE,
    Application,
    ApplicationState,
    EvidenceKind,
    may_contribute,
)
from devices.views.access import (
    contributor_required,
    is_htmx,
    manufacturer_required,
    member_organisation,
    posted,
    posted_files,
)
from devices.views.evidence import upload_from_form
from postclearance.selectors import monitoring_plans_of, running_plan
from reviews.attention import manufacturer_attention
from reviews.models import PlanVersion
from reviews.selectors import exit_report


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    form_class: type[DraftStepForm] | None


STEPS = (
    Step(1, "Device and environment", DeviceStepForm),
    Step(2, "Regulatory challenge and benefit", ChallengeStepForm),
    Step(3, "Maturity and NHS sites", MaturityStepForm),
    Step(4, "Evidence", None),
)
LAST_STEP = STEPS[-1].number


# The answers each form step must have before it counts as done (the rest are optional); the
# same answers the submit rule asks for (devices.models.rules._missing_details).
REQUIRED_ANSWERS = {
    1: ("device_id", "sandbox_environment"),
    2: ("regulatory_challenge", "patient_benefit"),
    3: ("maturity",),
}


@dataclass(frozen=True)
class Task:
    """A row of the application's GOV.UK task list: a step and how far it has got."""

    step: Step
    status: str  # "completed", "incomplete" or "not started"


def application_tasks(application: Application) -> list[Task]:
    """Each step's status from what the draft holds: completed when every required answer
    is given (for evidence, every required document uploaded), incomplete when some are."""
    kinds = set(application.evidence.filter(is_current=True).values_list("kind", flat=True))
    tasks = []
    for step in STEPS:
        if step.number in REQUIRED_ANSWERS:
            needed = REQUIRED_ANSWERS[step.number]
            given = sum(1 for name in needed if getattr(application, name))
        else:
            needed = REQUIRED_EVIDENCE
            given = sum(1 for kind in needed if kind in kinds)
        done = given == len(needed)
        tasks.append(Task(step, "completed" if done else "incomplete" if given else "not started"))
    return tasks


# States in which the case has a testing plan and checkpoints worth showing.
TESTING_STATES = {
    ApplicationState.ACCEPTED,
    ApplicationState.IN_CONTROLLED_TESTING,
    ApplicationState.SUSPENDED,
    ApplicationState.EVIDENCE_REVIEW,
    ApplicationState.CLEARED,
    ApplicationState.NOT_CLEARED,
}

# Where each manufacturer action is carried out; reviewer actions never reach this portal.
ACTION_URLS = {
    "submit": "devices:application-review",
    "respond": "devices:application-respond",
    "withdraw": "devices:application-withdraw",
}


# --- Dashboard and lists ---------------------------------------------------------------------


@require_GET
@manufacturer_required
def home(request: HttpRequest) -> HttpResponse:
    """The manufacturer's landing page: their organisation, devices, cases, and everything
    that needs them now (reviews.attention)."""
    applications = list(
        selectors.applications_for(request.user).select_related("device").order_by("-created_at")
    )
    return render(
        request,
        "devices/home.html",
        {
            "organisation": member_organisation(request),
            "applications": applications,
            "attention": manufacturer_attention(request.user),
            "devices": list(selectors.devices_for(request.user)),
        },
    )


@require_GET
@manufacturer_required
def application_list(request: HttpRequest) -> HttpResponse:
    applications = selectors.applications_for(request.user).select_related("device")
    return render(request, "devices/application_list.html", {"applications": applications})


# --- The application form (drafts only) ------------------------------------------------------


def _step_context(application: Application | None, current: int) -> dict:
    return {
        "steps": STEPS,
        "current_step": current,
        "review_step": LAST_STEP + 1,
        "application": application,
    }


def _is_draft_save(request: HttpRequest) -> bool:
    return "save_draft" in request.POST


@require_http_methods(["GET", "POST"])
@contributor_required
def application_start(request: HttpRequest) -> HttpResponse:
    """Step 1 for a new application: the draft (and its case reference) is created when the
    person first saves."""
    devices = selectors.devices_for(request.user)
    initial = {}
    if device_id := request.GET.get("device", ""):
        # isdecimal, not isdigit: "²" is a digit that int() (and so the query) cannot read.
        initial["device"] = devices.filter(pk=device_id).first() if device_id.isdecimal() else None
    draft = request.method == "POST" and _is_draft_save(request)
    calls = list(Call.objects.open())
    form = DeviceStepForm(
        posted(request), devices=devices, calls=calls, initial=initial, draft=draft
    )
    if request.method == "POST" and form.is_valid():
        try:
            application = services.application_create(actor=request.user, **form.cleaned_data)
        except services.TransitionRefused as refused:
            # The call closed between showing the form and sending it.
            form.add_error("call", str(refused))
            return _start_page(request, form, devices)
        if draft:
            messages.success(
                request,
                f"Draft {application.reference} saved. Continue it from your dashboard.",
            )
            return redirect("devices:home")
        return redirect("devices:application-step", application.pk, 2)
    return _start_page(request, form, devices)


def _start_page(request: HttpRequest, form: DeviceStepForm, devices) -> HttpResponse:
    context = _step_context(None, 1)
    context.update(
        form=form,
        step=STEPS[0],
        has_devices=devices.exists(),
        no_open_call=not form.calls,
    )
    return render(request, "devices/application_step.html", context)


def _draft_or_redirect(request: HttpRequest, pk: int) -> Application | HttpResponse:
    application = selectors.application_get(request.user, pk)
    if application.state != ApplicationState.DRAFT:
        messages.info(
            request,
            f"{application.reference} is {application.state_enum.in_words}: only a draft "
            "can be edited.",
        )
        return redirect("devices:application-detail", application.pk)
    return application


@require_http_methods(["GET", "POST"])
@contributor_required
def application_step(request: HttpRequest, pk: int, step: int) -> HttpResponse:
    if not 1 <= step <= LAST_STEP:
        raise Http404("No such step.")
    application = _draft_or_redirect(request, pk)
    if isinstance(application, HttpResponse):
        return application
    if step == LAST_STEP:
        return _evidence_step(request, application)
    current = STEPS[step - 1]
    draft = request.method == "POST" and _is_draft_save(request)
    kwargs = {"instance": application, "draft": draft}
    if current.form_class is DeviceStepForm:
        kwargs["devices"] = selectors.devices_for(request.user)
        # The open calls, and the one the draft answers even if it has closed since.
        kwargs["calls"] = list(
            Call.objects.filter(Q(pk__in=Call.objects.open()) | Q(pk=application.call_id))
        )
    form = current.form_class(posted(request), **kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            services.application_update_draft(
                application=application, actor=request.user, **form.cleaned_data
            )
        except services.TransitionRefused as refused:
            messages.error(request, str(refused))
            return redirect("devices:application-detail", application.pk)
        if draft:
            messages.success(
                request,
                f"Draft {application.reference} saved. Continue it from your dashboard.",
            )
            return redirect("devices:home")
        return redirect("devices:application-step", application.pk, step + 1)
    context = _step_context(application, step)
    context.update(form=form, step=current, has_devices=True)
    return render(request, "devices/application_step.html", context)


def _evidence_step(request: HttpRequest, application: Application) -> HttpResponse:
    form = EvidenceUploadForm(
        posted(request),
        posted_files(request),
        initial={"kind": _next_missing_kind(application)},
    )
    if request.method == "POST" and upload_from_form(request, application, form):
        return redirect("devices:application-step", application.pk, LAST_STEP)
    context = _step_context(application, LAST_STEP)
    context.update(
        form=form,
        step=STEPS[-1],
        evidence_groups=selectors.evidence_groups(application),
    )
    return render(request, "devices/application_evidence_step.html", context)


def _next_missing_kind(application: Application) -> str:
    present = set(application.evidence.filter(is_current=True).values_list("kind", flat=True))
    return next((kind for kind in REQUIRED_EVIDENCE if kind not in present), EvidenceKind.OTHER)


@require_GET
@manufacturer_required
def application_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything in the draft on one page, with what is still missing, before submitting."""
    application = _draft_or_redirect(request, pk)
    if isinstance(application, HttpResponse):
        return application
    context = _step_context(application, LAST_STEP + 1)
    context.update(
        missing=services.refusal_reasons(application, "submit", request.user),
        tasks=application_tasks(application),
        evidence_groups=selectors.evidence_groups(application),
    )
    return render(request, "devices/application_review.html", context)


@require_http_methods(["GET", "POST"])
@manufacturer_required
def application_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Submit in two steps: a page saying what submitting does and what cannot be undone,
    whose button submits."""
    application = selectors.application_get(request.user, pk)
    if request.method == "GET":
        draft = _draft_or_redirect(request, pk)
        if isinstance(draft, HttpResponse):
            return draft
        missing = services.refusal_reasons(application, "submit", request.user)
        if missing:
            return redirect("devices:application-review", application.pk)
        return render(request, "devices/application_submit.html", {"application": application})
    try:
        services.application_transition(
            application_id=application.pk,
            action="submit",
            actor=request.user,
            expected_state=ApplicationState.DRAFT,
        )
    except services.TransitionRefused as refused:
        messages.error(request, f"Not submitted. {refused}")
        if application.state == ApplicationState.DRAFT:
            return redirect("devices:application-review", application.pk)
        return redirect("devices:application-detail", application.pk)
    # Shown as the GOV.UK confirmation panel (base.html), with the reference to quote.
    messages.success(
        request,
        f"{application.reference} is submitted. The regulator will screen it; we will email "
        "you when its status changes.",
        extra_tags=f"panel reference:{application.reference}",
    )
    return redirect("devices:application-detail", application.pk)


# --- The case page and its actions -----------------------------------------------------------


def _case_context(
    request: HttpRequest,
    application: Application,
    *,
    message_form: MessageForm | None = None,
    response_form: InformationResponseForm | None = None,
) -> dict:
    actions = [
        {**action, "url": reverse(ACTION_URLS[action["name"]], args=[application.pk])}
        for action in services.available_actions(application, request.user)
        if action["name"] in ACTION_URLS
    ]
    open_request = (
        application.information_requests.filter(responded_at__isnull=True)
        .select_related("requested_by")
        .first()
    )
    return {
        "application": application,
        "is_draft": application.state == ApplicationState.DRAFT,
        "shows_testing": application.state in TESTING_STATES,
        "monitoring_plan": (
            running_plan(monitoring_plans_of(application))
            if application.state == ApplicationState.CLEARED
            else None
        ),
        "actions": actions,
        "evidence_groups": selectors.evidence_groups(application),
        "can_upload": not application.state_enum.is_final,
        # Incidents and model changes are written by administrators and contributors only.
        "can_contribute": may_contribute(request.user, application.organisation_id),
        "open_request": open_request,
        "response_form": response_form
        or InformationResponseForm(initial={"expected_state": application.state}),
        "case_messages": application.messages.select_related("author"),
        "message_form": message_form or MessageForm(),
        "state_explanation": selectors.STATE_EXPLANATIONS[application.state_enum],
        "plan_waiting": PlanVersion.objects.filter(
            application=application, reviewer_agreed_at__isnull=False
        )
        .open()
        .select_related("reviewer_agreed_by")
        .first(),
    }


@require_GET
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The case page. Emails link here for everyone, so reviewers are sent on to their own
    view of the case."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    if request.user.has_perm("airlock.access_review_workspace"):
        # Reversed here, not at import: the review workspace's URLs are its own app's.
        return redirect(reverse("reviews:application", args=[pk]))
    application = selectors.application_get(request.user, pk)
    return render(request, "devices/application_detail.html", _case_context(request, application))


@require_GET
@manufacturer_required
def application_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    application = selectors.application_get(request.user, pk)
    return render(
        request,
        "devices/application_timeline.html",
        {"application": application, "entries": selectors.timeline(application)},
    )


@require_http_methods(["GET", "POST"])
@contributor_required
def application_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    application = selectors.application_get(request.user, pk)
    refusal = services.refusal_reason(application, "withdraw", request.user)
    if refusal:
        messages.error(request, refusal)
        return redirect("devices:application-detail", application.pk)
    form = WithdrawForm(posted(request), initial={"expected_state": application.state})
    if request.method == "POST" and form.is_valid():
        try:
            services.application_transition(
                application_id=application.pk,
                action="withdraw",
                actor=request.user,
                reason=form.cleaned_data["reason"],
                expected_state=form.cleaned_data["expected_state"],
            )
        except services.TransitionRefused as refused:
            messages.error(request, f"Not withdrawn. {refused}")
        else:
            messages.success(request, f"{application.reference} is withdrawn.")
        return redirect("devices:application-detail", application.pk)
    return render(
        request, "devices/application_withdraw.html", {"application": application, "form": form}
    )


@require_http_methods(["GET", "POST"])
@contributor_required
def information_respond(request: HttpRequest, pk: int) -> HttpResponse:
    application = selectors.application_get(request.user, pk)
    refusal = services.refusal_reason(application, "respond", request.user)
    if refusal:
        messages.error(request, refusal)
        return redirect("devices:application-detail", application.pk)
    form = InformationResponseForm(posted(request), initial={"expected_state": application.state})
    if request.method == "POST" and form.is_valid():
        try:
            services.information_respond(
                application_id=application.pk,
                actor=request.user,
                response=form.cleaned_data["response"],
                expected_state=form.cleaned_data["expected_state"],
            )
        except services.TransitionRefused as refused:
            messages.error(request, f"Not sent. {refused}")
        else:
            messages.success(
                request, "Your response is sent; the regulator's review clock restarts."
            )
        return redirect("devices:application-detail", application.pk)
    return render(
        request,
        "devices/information_respond.html",
        {
            "application": application,
            "open_request": application.open_information_request(),
            "form": form,
        },
    )


@require_POST
@manufacturer_required
def message_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Post a message on the case. With htmx only the messages section is swapped."""
    application = selectors.application_get(request.user, pk)
    form = MessageForm(request.POST)
    sent = None
    if form.is_valid():
        sent = services.message_post(
            application=application, author=request.user, body=form.cleaned_data["body"]
        )
        if not is_htmx(request):
            messages.success(request, f"Message sent. {sent.told}")
            return redirect(f"{reverse('devices:application-detail', args=[pk])}#messages")
        form = MessageForm()
    if is_htmx(request):
        return render(
            request,
            "devices/partials/case_messages.html",
            {
                "application": application,
                "case_messages": application.messages.select_related("author"),
                "message_form": form,
                "sent": sent,
            },
        )
    return render(
        request,
        "devices/application_detail.html",
        _case_context(request, application, message_form=form),
    )


@require_GET
@manufacturer_required
def application_exit_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The manufacturer's copy of the exit report, issued once the case is decided: the same
    report the regulator prints (never the reviewers' internal notes, which it does not hold)."""
    application = selectors.application_get(request.user, pk)
    if not application.state_enum.is_final:
        messages.info(
            request,
            f"The exit report is issued when the case is decided; {application.reference} is "
            f"{application.state_enum.in_words}.",
        )
        return redirect("devices:application-detail", application.pk)
    return render(
        request,
        "devices/exit_report.html",
        {
            "application": application,
            "report": exit_report(application),
            "generated_at": timezone.now(),
        },
    )
