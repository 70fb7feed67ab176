"""Who may use the manufacturer portal.

Pages without an object (dashboard, lists, forms to create) are for manufacturers' teams only:
anyone else gets 403. Pages for one object fetch it through devices.selectors, so another
organisation's records are simply not found (404). A viewer reads every page of their
organisation but changes nothing: their POSTs, and the pages that are only a form, are 403
here, and the services refuse them again (devices.models.may_contribute).
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.datastructures import MultiValueDict

from devices.models import Organisation, contributor_refusal

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def member_organisation(request: HttpRequest) -> Organisation:
    membership = getattr(request.user, "membership", None)
    if not request.user.is_manufacturer or membership is None:
        raise PermissionDenied("The manufacturer portal is for manufacturers' own teams.")
    return membership.organisation


def refuse_viewers(request: HttpRequest) -> None:
    membership = getattr(request.user, "membership", None)
    if membership is not None and not membership.may_contribute:
        raise PermissionDenied(contributor_refusal(request.user, membership.organisation))


def manufacturer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The organisation's team, in any role; a viewer's POST is refused."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        member_organisation(request)
        if request.method not in SAFE_METHODS:
            refuse_viewers(request)
        return view(request, *args, **kwargs)

    return wrapped


def contributor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The organisation's administrators and contributors: pages that are only a form."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        member_organisation(request)
        refuse_viewers(request)
        return view(request, *args, **kwargs)

    return wrapped


def administrator_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The organisation's administrators: its team and its API keys."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        organisation = member_organisation(request)
        if not request.user.membership.is_administrator:
            raise PermissionDenied(f"Only {organisation}'s administrators can do this.")
        return view(request, *args, **kwargs)

    return wrapped


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def posted(request: HttpRequest) -> QueryDict | None:
    # Not `request.POST or None`: an empty POST must still bind the form, so that it shows
    # "required" errors instead of quietly re-rendering.
    return request.POST if request.method == "POST" else None


def posted_files(request: HttpRequest) -> MultiValueDict | None:
    return request.FILES if request.method == "POST" else None
