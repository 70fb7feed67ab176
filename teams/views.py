"""The organisation's team page (members, invitations, roles), the invitation link, and the
organisation's API keys."""

from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from devices.models import Membership, OrganisationRole
from devices.views.access import (
    administrator_required,
    manufacturer_required,
    member_organisation,
    posted,
)
from teams import selectors, services
from teams.api_keys import api_key_create, api_key_revoke
from teams.forms import ApiKeyForm, InviteForm, NewAccountForm, RoleForm
from teams.models import ApiKey, Invitation


def _team_page(request: HttpRequest, *, invite_form: InviteForm | None = None):
    organisation = member_organisation(request)
    is_administrator = request.user.membership.is_administrator
    return render(
        request,
        "teams/team.html",
        {
            "organisation": organisation,
            "members": selectors.members_of(organisation),
            "invitations": selectors.pending_invitations(organisation) if is_administrator else [],
            "events": selectors.team_events(organisation) if is_administrator else [],
            "is_administrator": is_administrator,
            "invite_form": invite_form or InviteForm(),
            "role_form": RoleForm(),
            "roles": list(OrganisationRole),
        },
    )


@require_GET
@manufacturer_required
def team(request: HttpRequest) -> HttpResponse:
    """Everyone in the organisation and their role; administrators also manage it here."""
    return _team_page(request)


@require_POST
@administrator_required
def invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation = services.invitation_send(actor=request.user, **form.cleaned_data)
        except services.TeamRefused as refused:
            form.add_error("email", str(refused))
        else:
            messages.success(
                request,
                f"We have emailed an invitation to {invitation.email}. The link works until "
                f"{invitation.expires_at:%-d %B %Y}.",
            )
            return redirect("teams:team")
    return _team_page(request, invite_form=form)


@require_POST
@administrator_required
def invitation_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        invitation = services.invitation_cancel(actor=request.user, invitation_id=pk)
    except Invitation.DoesNotExist:
        raise Http404("No such invitation.") from None
    except services.TeamRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"The invitation to {invitation.email} is cancelled.")
    return redirect("teams:team")


def _own_member(request: HttpRequest, pk: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user"),
        pk=pk,
        organisation=member_organisation(request),
    )


@require_POST
@administrator_required
def member_role(request: HttpRequest, pk: int) -> HttpResponse:
    member = _own_member(request, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role: administrator, contributor or viewer.")
        return redirect("teams:team")
    try:
        services.membership_role_change(
            actor=request.user, membership_id=member.pk, role=form.cleaned_data["role"]
        )
    except services.TeamRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"{member.user} is now {form.cleaned_data['role']}.")
    return redirect("teams:team")


@require_http_methods(["GET", "POST"])
@administrator_required
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then take the person out of the team."""
    member = _own_member(request, pk)
    if request.method == "POST":
        try:
            user = services.membership_remove(actor=request.user, membership_id=member.pk)
        except services.TeamRefused as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, f"{user} is no longer in the team.")
        if member.user_id == request.user.pk:
            return redirect("home")
        return redirect("teams:team")
    return render(request, "teams/member_remove.html", {"member": member})


@require_http_methods(["GET", "POST"])
@never_cache
def join(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the invitation email: join with the account signed in, or make one."""
    invitation = services.invitation_for_token(token)
    if invitation is None:
        return render(request, "teams/join_invalid.html", status=404)
    signed_in = request.user.is_authenticated
    form = None if signed_in else NewAccountForm(posted(request))
    if request.method == "POST" and (signed_in or form.is_valid()):
        try:
            if signed_in:
                services.invitation_accept(token=token, user=request.user)
            else:
                user = services.invitation_accept_new(
                    token=token,
                    full_name=form.cleaned_data["full_name"],
                    password=form.cleaned_data["password1"],
                )
                login(request, user, backend="airlock.backends.RoleBackend")
        except services.TeamRefused as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, f"Welcome to {invitation.organisation}'s team.")
            return redirect("devices:home")
    return render(request, "teams/join.html", {"invitation": invitation, "form": form})


# --- API keys --------------------------------------------------------------------------------


def _api_keys_page(request: HttpRequest, *, form=None, new_secret: str = ""):
    organisation = member_organisation(request)
    return render(
        request,
        "teams/api_keys.html",
        {
            "organisation": organisation,
            "keys": selectors.api_keys_of(organisation),
            "form": form or ApiKeyForm(),
            "new_secret": new_secret,
        },
    )


@require_http_methods(["GET", "POST"])
@never_cache
@administrator_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """The organisation's API keys; a new key's secret is shown on this one response only."""
    if request.method != "POST":
        return _api_keys_page(request)
    form = ApiKeyForm(request.POST)
    if form.is_valid():
        try:
            key, secret = api_key_create(actor=request.user, **form.cleaned_data)
        except services.TeamRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, f"API key “{key.name}” made. Copy it now: it is shown once.")
            return _api_keys_page(request, new_secret=secret)
    return _api_keys_page(request, form=form)


@require_POST
@administrator_required
def api_key_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        key = api_key_revoke(actor=request.user, key_id=pk)
    except ApiKey.DoesNotExist:
        raise Http404("No such API key.") from None
    except services.TeamRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"API key “{key.name}” is revoked: it no longer works.")
    return redirect("teams:api-keys")
