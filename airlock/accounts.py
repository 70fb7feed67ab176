"""Signing in beyond the password: two-factor pages, the lockout page, and a password reset
that also lifts a lockout.
"""

import logging

import django_otp
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import PasswordResetConfirmView
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from airlock import two_factor
from airlock.forms import SignInForm, TokenForm
from airlock.models import canonical_email

logger = logging.getLogger(__name__)

MISMATCH = (
    "That code did not match. Enter the code your app shows now; if it keeps failing, check "
    "that your phone sets its clock automatically."
)


def _next_url(request: HttpRequest) -> str:
    """Where to go once verified: `next` if it is one of our pages, else the home page."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(name: str, request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    url = reverse(name)
    return f"{url}?{urlencode({'next': target})}" if target else url


def _signed_in_with(request: HttpRequest, device) -> None:
    django_otp.login(request, device)
    # Passing the second factor raises what this session may do: give it a new key so a
    # session id captured before (fixation) is worth nothing.
    request.session.cycle_key()


def _staff_only(request: HttpRequest) -> None:
    if not two_factor.two_factor_applies(request.user):
        raise PermissionDenied("Two-factor sign-in is for the regulator's staff.")


def _masked(email: str) -> str:
    """m•••@example.test: enough for the person to know which inbox, not a full address for
    whoever is looking over their shoulder."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


@require_http_methods(["GET", "POST"])
@never_cache
@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: first the one-time link from the person's email (the
    password alone is not enough), then the secret (QR code and text), confirmed with the
    first code it produces."""
    _staff_only(request)
    if request.user.is_verified():
        return redirect(_next_url(request))
    if two_factor.confirmed_device(request.user) is not None:
        # A password alone must never be enough to add a second authenticator.
        return redirect(_with_next("two-factor-verify", request))
    enrolment = two_factor.enrolment_for_session(request.user, request.session)
    if enrolment is None:
        return _setup_link_page(request)
    device = two_factor.totp_device_for_setup(user=request.user)
    form = TokenForm(request.POST if request.method == "POST" else None, device=device)
    if request.method == "POST" and form.is_valid():
        confirmed = two_factor.totp_device_confirm(
            device=device, token=form.cleaned_data["token"], enrolment=enrolment
        )
        if confirmed is not None:
            request.session.pop(two_factor.SESSION_ENROLMENT, None)
            _signed_in_with(request, confirmed)
            messages.success(
                request,
                "Two-factor sign-in is set up. Each time you sign in, Airlock will ask for a "
                "code from your app after your password.",
            )
            return redirect(_next_url(request))
        form.add_error("token", MISMATCH)
    return render(
        request,
        "registration/two_factor_setup.html",
        {
            "form": form,
            "secret": two_factor.grouped_secret(device),
            # Built by qrcode from the device's own key: no user input reaches the markup.
            "qr_code": mark_safe(two_factor.qr_code_svg(device)),
            "next": request.POST.get("next") or request.GET.get("next") or "",
        },
    )


def _setup_link_page(request: HttpRequest, *, invalid_link: bool = False) -> HttpResponse:
    """Before the link: say where it went, and send one (or another) on request."""
    if request.method == "POST":
        if two_factor.enrolment_link_send(user=request.user):
            messages.success(
                request, f"We have emailed a set-up link to {_masked(request.user.email)}."
            )
        else:
            messages.info(
                request,
                "We sent you a link less than a minute ago. Check your inbox (and spam "
                "folder); you can ask for another in a minute.",
            )
        return redirect(_with_next("two-factor-setup", request))
    return render(
        request,
        "registration/two_factor_link.html",
        {
            "pending": two_factor.enrolment_pending(request.user),
            "masked_email": _masked(request.user.email),
            "invalid_link": invalid_link,
            "next": request.GET.get("next") or "",
        },
        status=404 if invalid_link else 200,
    )


@require_GET
@never_cache
@login_required
def two_factor_enrol(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the email. Opening it only lets this signed-in session see the setup
    page's secret; the link is used up when the first code confirms the app, so a mail
    scanner that fetches it (and is not signed in) spends nothing."""
    _staff_only(request)
    enrolment = two_factor.enrolment_claim(user=request.user, token=token)
    if enrolment is None:
        # Not found, as any record outside a person's reach is; the page says why it might
        # be, and offers a new link.
        return _setup_link_page(request, invalid_link=True)
    request.session[two_factor.SESSION_ENROLMENT] = enrolment.pk
    return redirect("two-factor-setup")


@require_http_methods(["GET", "POST"])
@never_cache
@login_required
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """Ask for the current code from the authenticator app set up earlier."""
    _staff_only(request)
    if request.user.is_verified():
        return redirect(_next_url(request))
    device = two_factor.confirmed_device(request.user)
    if device is None:
        return redirect(_with_next("two-factor-setup", request))
    form = TokenForm(request.POST if request.method == "POST" else None, device=device)
    if request.method == "POST" and form.is_valid():
        verified = two_factor.totp_device_verify(device=device, token=form.cleaned_data["token"])
        if verified is not None:
            _signed_in_with(request, verified)
            return redirect(_next_url(request))
        form.add_error("token", MISMATCH)
    return render(
        request,
        "registration/two_factor_verify.html",
        {"form": form, "next": request.POST.get("next") or request.GET.get("next") or ""},
    )


def lockout_username(request: HttpRequest, credentials: dict | None) -> str:
    """What axes counts failures against (AXES_USERNAME_CALLABLE): the account, by the one
    spelling of its address that sign-in looks it up by (airlock.models.canonical_email), so
    however the address is typed, every attempt at one account shares one count and one
    pause. The sign-in forms refuse any spelling outside plain ASCII before authenticating,
    so a look-alike never opens a count of its own. Cut to the 255 characters axes' failure
    log holds (PostgreSQL refuses a longer one: a 500)."""
    source = credentials if credentials is not None else request.POST
    return canonical_email(source.get("username") or "")[:255]


def locked_out(request: HttpRequest, response: HttpResponse, credentials: dict) -> HttpResponse:
    """django-axes' lockout response (AXES_LOCKOUT_CALLABLE): the sign-in page again, saying
    plainly that sign-in is paused, until when, and how to get in sooner."""
    username = (credentials or {}).get("username", "")
    logger.warning("Sign-in locked after repeated failures for %r", username)
    form = SignInForm(request, initial={"username": username})
    return render(
        request,
        "registration/login.html",
        {
            "form": form,
            "locked_out": True,
            "lockout_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
            "next": request.POST.get("next") or request.GET.get("next") or "",
        },
        status=429,
    )


class ResetPasswordConfirmView(PasswordResetConfirmView):
    """Django's reset-confirm page; a new password also lifts any sign-in lockout, which is
    what the lockout message promises."""

    def form_valid(self, form):
        response = super().form_valid(form)
        axes_reset(username=form.user.get_username())
        return response
