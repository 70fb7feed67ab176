"""Request policy that Django's own middleware does not cover.

- SessionTimeoutMiddleware: sign out after SESSION_IDLE_TIMEOUT without a request, and in any
  case SESSION_COOKIE_AGE after signing in.
- TwoFactorMiddleware: the regulator's staff confirm a TOTP code before any page opens.
- PermissionsPolicyMiddleware: browser features Airlock never uses are switched off.
- RejectNulMiddleware: a NUL character anywhere in the request is a 400, before any view.
"""

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    JsonResponse,
)
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse

from airlock import two_factor

# Where airlock/urls.py mounts the API.
API_PREFIX = "/api/"
SIGNED_IN_AT = "airlock_signed_in_at"
SEEN_AT = "airlock_seen_at"
# Saving the session on every request would cost a database write per page view; a minute
# of slack on an hour's idle limit changes nothing for anyone.
SEEN_RESOLUTION_SECONDS = 60


def start_session_clock(sender, request: HttpRequest, user, **kwargs) -> None:
    """On sign-in (user_logged_in), start both clocks in the session being created anyway,
    so the first page after signing in does not need a session write of its own."""
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = request.session[SEEN_AT] = int(time.time())


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    if request.headers.get("HX-Request") == "true":
        # htmx would follow a 302 inside its request and swap a whole sign-in page into a
        # fragment of this one; HX-Redirect makes it load the page properly instead.
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _with_next(url: str, request: HttpRequest) -> str:
    # Only a page someone can open again is worth returning to; after a form post, go home.
    if request.method != "GET":
        return url
    return f"{url}?{urlencode({'next': request.get_full_path()})}"


class SessionTimeoutMiddleware:
    """Django's session age slides forward every time the session is saved, so on its own it
    is neither an idle limit nor an absolute one. This keeps both in the session itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            expired = self._expired(request)
            if expired:
                logout(request)
                messages.info(request, expired)
                return _redirect(request, _with_next(reverse(settings.LOGIN_URL), request))
        return self.get_response(request)

    @staticmethod
    def _expired(request: HttpRequest) -> str | None:
        """Why this session has ended (a sentence for the person), or None; also records
        this request as activity."""
        session = request.session
        now = int(time.time())
        signed_in_at = session.get(SIGNED_IN_AT)
        seen_at = session.get(SEEN_AT)
        if signed_in_at is None or seen_at is None:
            session[SIGNED_IN_AT] = session[SEEN_AT] = now
            return None
        idle_limit = settings.SESSION_IDLE_TIMEOUT
        if now - seen_at >= idle_limit:
            return (
                f"You were signed out after {idle_limit // 60} minutes without activity, to "
                "protect the case files. Sign in again to carry on."
            )
        if now - signed_in_at >= settings.SESSION_COOKIE_AGE:
            return (
                f"You were signed out because you signed in over "
                f"{settings.SESSION_COOKIE_AGE // 3600} hours ago. Sign in again to carry on."
            )
        if now - seen_at >= SEEN_RESOLUTION_SECONDS:
            session[SEEN_AT] = now
        return None


class TwoFactorMiddleware:
    """Sends staff who have not confirmed a code this session to set up or enter one.

    Runs in process_view, once the URL is resolved, so exemptions are by URL name rather
    than by string prefix. Static files never reach it (the static files handler or the web
    server answers them first). The API is exempt: it authenticates each request with a
    token, not this session.
    """

    EXEMPT_NAMES = frozenset(
        {
            "two-factor-setup",
            "two-factor-enrol",
            "two-factor-verify",
            "logout",
            "healthz",
            "healthz-ready",
            "admin:logout",
        }
    )
    EXEMPT_NAMESPACES = frozenset({"api"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if (
            match is None
            or match.view_name in self.EXEMPT_NAMES
            or self.EXEMPT_NAMESPACES.intersection(match.namespaces)
        ):
            return None
        user = request.user
        if not two_factor.two_factor_required(user) or user.is_verified():
            return None
        if two_factor.confirmed_device(user) is None:
            target = reverse("two-factor-setup")
        else:
            target = reverse("two-factor-verify")
        return _redirect(request, _with_next(target, request))


class PermissionsPolicyMiddleware:
    """Airlock never needs the camera, microphone or location: say so, so no injected or
    framed content can ask for them."""

    POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", self.POLICY)
        return response


class RejectNulMiddleware:
    """No text a person or a program can send contains a NUL character, and PostgreSQL refuses
    any string that does: a NUL in a path (`/api/applications/AIA%00x/`), a query parameter,
    a form field, a header or a cookie would otherwise reach a query and answer 500. Forms
    already refuse it field by field; this closes the rest of the class for every URL, before
    sessions, authentication or views read anything. (JSON bodies: airlock.json_parsing.)

    Reading the form here also means a multipart body too broken to read (no boundary, a
    truncated part) is a 400 here, not a 500 from whichever later code reads it first.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            where = self._nul_in(request)
        except MultiPartParserError:
            return _bad_request(request, "The request was refused: its form data is malformed.")
        if where:
            return _bad_request(
                request, f"The request was refused: {where} contains a NUL character."
            )
        return self.get_response(request)

    @staticmethod
    def _nul_in(request: HttpRequest) -> str | None:
        """Where in the request a NUL is, in words; None if nowhere."""
        if "\x00" in request.path:
            return "the address"
        for name, value in request.META.items():
            if (name.startswith("HTTP_") or name in {"CONTENT_TYPE", "CONTENT_LENGTH"}) and (
                "\x00" in name or "\x00" in str(value)
            ):
                return "a header"
        if _has_nul(request.GET):
            return "a query parameter"
        if request.method == "POST":
            if _has_nul(request.POST):
                return "a form field"
            if any("\x00" in (upload.name or "") for _, upload in _pairs(request.FILES)):
                return "an uploaded file's name"
        return None


def _pairs(multi_dict):
    for key, values in multi_dict.lists():
        for value in values:
            yield key, value


def _has_nul(multi_dict) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in _pairs(multi_dict))


def _bad_request(request: HttpRequest, detail: str) -> HttpResponse:
    """JSON for the API and programs that ask for it, plain text for everyone else."""
    if "json" in request.headers.get("Accept", "") or request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": detail}, status=400)
    return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")
