"""The application form, for drafts only: its steps, the task list of how far each has got,
the review of the whole draft and submitting it."""

from dataclasses import dataclass

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from calls.models import Call
from devices import selectors, services
from devices.forms import (
    ChallengeStepForm,
    DeviceStepForm,
    DraftStepForm,
    EvidenceUploadForm,
    MaturityStepForm,
)
from devices.models import REQUIRED_EVIDENCE, Application, ApplicationState, EvidenceKind
from devices.views.access import contributor_required, manufacturer_required, posted, posted_files
from devices.views.evidence import upload_from_form


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
