"""The regulator's page of observers and invitations to observe, and the link an invited
observer opens."""

from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from devices.views.access import posted
from observers import invitations, services
from observers.forms import ObserverInviteForm
from observers.models import ObserverInvitation
from reviews.views.access import lead_required
from teams.forms import NewAccountForm


def _manage_page(request: HttpRequest, form: ObserverInviteForm) -> HttpResponse:
    people = list(services.observers().order_by("full_name", "email"))
    # Each observer's organisation, from the invitation they joined with (an observer made
    # in the admin has none).
    bodies = dict(
        ObserverInvitation.objects.filter(accepted_by__in=people).values_list(
            "accepted_by_id", "body"
        )
    )
    return render(
        request,
        "observers/manage.html",
        {
            "observers": [(person, bodies.get(person.pk, "")) for person in people],
            "pending": [
                invitation
                for invitation in ObserverInvitation.objects.filter(
                    accepted_at__isnull=True, cancelled_at__isnull=True
                ).select_related("invited_by")
                if invitation.is_usable
            ],
            "form": form,
        },
    )


@require_http_methods(["GET", "POST"])
@lead_required
def manage(request: HttpRequest) -> HttpResponse:
    """Everyone with the Observer role, invitations waiting, and a form to invite someone."""
    form = ObserverInviteForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            invitation = invitations.observer_invite(actor=request.user, **form.cleaned_data)
        except invitations.InvitationRefused as refused:
            form.add_error("email", str(refused))
        else:
            messages.success(
                request,
                f"We have emailed an invitation to {invitation.email}. The link works until "
                f"{invitation.expires_at:%-d %B %Y}. Once they have joined, give them access "
                "on each case's Observers page.",
            )
            return redirect("observers:manage")
    return _manage_page(request, form)


@require_POST
@lead_required
def invitation_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        invitation = invitations.observer_invitation_cancel(actor=request.user, invitation_id=pk)
    except ObserverInvitation.DoesNotExist:
        raise Http404("No such invitation.") from None
    except invitations.InvitationRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"The invitation to {invitation.email} is cancelled.")
    return redirect("observers:manage")


@require_http_methods(["GET", "POST"])
@never_cache
def join(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the invitation email: take the role with the account signed in, or make
    one."""
    invitation = invitations.invitation_for_token(token)
    if invitation is None:
        return render(request, "observers/join_invalid.html", status=404)
    signed_in = request.user.is_authenticated
    form = None if signed_in else NewAccountForm(posted(request))
    if request.method == "POST" and (signed_in or form.is_valid()):
        try:
            if signed_in:
                invitations.observer_join(token=token, user=request.user)
            else:
                user = invitations.observer_join_new(
                    token=token,
                    full_name=form.cleaned_data["full_name"],
                    password=form.cleaned_data["password1"],
                )
                login(request, user, backend="airlock.backends.RoleBackend")
        except invitations.InvitationRefused as refused:
            messages.error(request, str(refused))
        else:
            messages.success(
                request,
                "You are an observer on Airlock. The cases the regulator gives you access to "
                "are listed here.",
            )
            return redirect("observers:home")
    return render(request, "observers/join.html", {"invitation": invitation, "form": form})
