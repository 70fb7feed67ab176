"""Who may use the manufacturer portal.

Pages without an object (dashboard, lists, forms to create) are for manufacturers' teams only:
anyone else gets 403. Pages for one object fetch it through devices.selectors, so another
organisation's records are simply not found (404).
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.datastructures import MultiValueDict

from devices.models import Organisation


def member_organisation(request: HttpRequest) -> Organisation:
    membership = getattr(request.user, "membership", None)
    if not request.user.is_manufacturer or membership is None:
        raise PermissionDenied("The manufacturer portal is for manufacturers' own teams.")
    return membership.organisation


def manufacturer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        member_organisation(request)
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
