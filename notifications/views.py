"""The notification centre: every role's list of what happened on their cases."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from notifications.selectors import inbox
from notifications.services import notifications_mark_read

PAGE_SIZE = 25
SHOW = {"all": "All", "unread": "Unread"}


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "all")
    if show not in SHOW:
        show = "all"
    page = Paginator(inbox(request.user, unread_only=show == "unread"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "notifications/list.html", {"page": page, "show": show, "shows": SHOW})


@login_required
@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notification to what it is about, marking it read on the way. Only the
    person's own notification is found; its link is always a path on this site."""
    notification = get_object_or_404(inbox(request.user), pk=pk)
    if not url_has_allowed_host_and_scheme(notification.url, allowed_hosts=None):
        raise Http404("This notification has no page to open.")
    notifications_mark_read(actor=request.user, ids=[notification.pk])
    return redirect(notification.url)


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    marked = notifications_mark_read(actor=request.user, ids=[pk])
    if not marked and not inbox(request.user).filter(pk=pk).exists():
        raise Http404("No such notification.")
    messages.success(request, "Marked as read.")
    return redirect(_list_url(request))


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    marked = notifications_mark_read(actor=request.user)
    messages.success(
        request,
        f"Marked {marked} notification{'' if marked == 1 else 's'} as read."
        if marked
        else "Nothing was unread.",
    )
    return redirect(_list_url(request))


def _list_url(request: HttpRequest) -> str:
    url = reverse("notifications:list")
    return f"{url}?show=unread" if request.POST.get("show") == "unread" else url
