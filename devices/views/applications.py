"""The manufacturer's dashboard and list of cases, the case page and its actions (withdraw,
answer an information request, send a message, read the exit report). The application form
is in devices/views/drafting.py."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from devices import selectors, services
from devices.forms import InformationResponseForm, MessageForm, WithdrawForm
from devices.models import Application, ApplicationState, may_contribute
from devices.views.access import (
    contributor_required,
    is_htmx,
    manufacturer_required,
    member_organisation,
    posted,
)
from postclearance.selectors import monitoring_plans_of, running_plan
from reviews.attention import manufacturer_attention
from reviews.models import PlanVersion
from reviews.selectors import exit_report

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
