"""Registering: the sign-up form, the email link, asking to join a registered organisation,
and the reviewers' list of organisations waiting for approval."""

from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from airlock.api_limits import client_address
from devices.models import Organisation
from devices.views.access import posted
from reviews.models import ConflictOfInterest
from reviews.views.access import reviewer_required
from teams import signup as service
from teams.forms import JoinRequestForm, SignUpForm
from teams.services import TeamRefused

TOO_MANY = (
    "Too many sign-ups from your network in the last hour. Wait an hour and try again, or "
    "ask your organisation's administrator to invite you."
)


def _throttled(request: HttpRequest, template: str, context: dict) -> HttpResponse | None:
    if service.address_allowed(client_address(request)):
        return None
    messages.error(request, TOO_MANY)
    return render(request, template, context, status=429)


@require_http_methods(["GET", "POST"])
@never_cache
def signup(request: HttpRequest) -> HttpResponse:
    """Register an organisation and its first member, who becomes its administrator."""
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(posted(request))
    if request.method == "POST":
        refused = _throttled(request, "teams/signup.html", {"form": form})
        if refused is not None:
            return refused
        if form.is_valid():
            data = form.cleaned_data
            service.signup_start(
                email=data["email"],
                full_name=data["full_name"],
                password=data["password1"],
                organisation_name=data["organisation_name"],
                companies_house_number=data["companies_house_number"],
            )
            request.session["signup_email"] = data["email"]
            return redirect("teams:signup-sent")
    taken = getattr(form, "taken", None)
    initial = {}
    if taken is not None:
        initial = {
            "email": form.cleaned_data.get("email", ""),
            "full_name": form.cleaned_data.get("full_name", ""),
            "organisation_name": taken.name,
            "companies_house_number": taken.companies_house_number,
        }
    return render(
        request,
        "teams/signup.html",
        {
            "form": form,
            "taken": taken,
            "join_form": JoinRequestForm(prefix="join", initial=initial),
        },
    )


@require_GET
def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "teams/signup_sent.html", {"email": request.session.get("signup_email")})


@require_http_methods(["GET", "POST"])
@never_cache
def signup_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the email. Opening it shows a button; only pressing it makes the account,
    so a mail scanner fetching the link uses nothing up."""
    signup = service.signup_for_token(token)
    if signup is None:
        raise Http404("This link has been used or has expired.")
    if request.method == "POST":
        refused = _throttled(request, "teams/signup_confirm.html", {"signup": signup})
        if refused is not None:
            return refused
        try:
            user = service.signup_confirm(token=token)
        except TeamRefused as error:
            messages.error(request, str(error))
            return redirect("teams:signup")
        login(request, user, backend="airlock.backends.RoleBackend")
        messages.success(
            request,
            f"Your email address is confirmed and {user.membership.organisation} is registered. "
            "The regulator will review it: you can register devices and prepare applications "
            "now, and submit once it is approved.",
        )
        return redirect("devices:home")
    return render(request, "teams/signup_confirm.html", {"signup": signup})


@require_POST
def ask_to_join(request: HttpRequest) -> HttpResponse:
    """Ask a registered organisation's administrators to invite you."""
    form = JoinRequestForm(request.POST, prefix="join")
    refused = _throttled(request, "teams/join_requested.html", {"organisation": None})
    if refused is not None:
        return refused
    organisation = None
    if form.is_valid():
        data = form.cleaned_data
        number = service.company_number_clean(data["companies_house_number"]) or ""
        organisation = service.organisation_taken(
            name=data["organisation_name"], companies_house_number=number
        )
        if organisation is not None:
            service.join_request(
                organisation=organisation, email=data["email"], full_name=data["full_name"]
            )
    return render(request, "teams/join_requested.html", {"organisation": organisation})


@require_GET
@reviewer_required
def organisations(request: HttpRequest) -> HttpResponse:
    """Organisations that registered themselves, waiting for approval; then the rest."""
    waiting = (
        Organisation.objects.filter(approved_at__isnull=True)
        .exclude(conflicts__reviewer=request.user)
        .order_by("created_at")
    )
    return render(request, "teams/organisations.html", {"waiting": waiting})


@require_POST
@reviewer_required
def organisation_approve(request: HttpRequest, pk: int) -> HttpResponse:
    # A conflicted reviewer's organisations do not exist for them, as everywhere.
    if (
        not Organisation.objects.filter(pk=pk).exists()
        or ConflictOfInterest.objects.filter(reviewer=request.user, organisation_id=pk).exists()
    ):
        raise Http404("No such organisation.")
    try:
        organisation = service.organisation_approve(actor=request.user, organisation_id=pk)
    except TeamRefused as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{organisation} is approved: it can now submit applications.")
    return redirect("teams:organisations")
