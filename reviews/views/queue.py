"""The reviewer's landing page, the review queue, its CSV export and bulk assignment."""

import csv
import functools
import hashlib
from collections.abc import Iterator
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from airlock.sessions import page_read
from airlock.spreadsheets import Echo, safe_cell
from devices.models import ApplicationState
from devices.selectors import applications_for
from reviews.attention import reviewer_attention
from reviews.forms import BulkAssignForm, QueueFilterForm
from reviews.queue_read import QueueRows, queue_rows_signature
from reviews.selectors import (
    QUEUE_CACHE_SECONDS,
    ClockStatus,
    my_work,
    queue_state_counts,
    queue_total,
    queue_version,
    review_queue,
    reviewer_menu,
)
from reviews.services import application_bulk_assign
from reviews.views.access import LEAD_PERMISSION, lead_required, reviewer_required

CSV_BATCH = 2000
# Stands in for the CSRF token in a cached queue page (see queue).
CSRF_PLACEHOLDER = "airlock-csrf-token-placeholder"


@reviewer_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reviews/home.html",
        {"work": my_work(user=request.user), "attention": reviewer_attention(request.user)},
    )


class CountedPaginator(Paginator):
    """A paginator told how many rows there are, instead of asking the database."""

    def __init__(self, object_list, per_page: int, *, count: int):
        super().__init__(object_list, per_page)
        self._count = count

    @property
    def count(self) -> int:
        return self._count


def _queue_context(
    request: HttpRequest,
    params: QueryDict,
    *,
    bulk_form: BulkAssignForm | None = None,
    version: str | None = None,
) -> dict:
    """Everything the queue page shows, the page's rows read (one query, the columns shown)."""
    # One reviewer menu for the page, read only if drawn: the assignee filter and the
    # bulk-assignment menu both offer it.
    menu = functools.cache(reviewer_menu)
    form = QueueFilterForm(params, menu=menu)
    filters = form.filters()
    applications = QueueRows(user=request.user, filters=filters)
    state_counts = queue_state_counts(user=request.user, filters=filters, version=version)
    paginator = CountedPaginator(
        applications, form.page_size(), count=queue_total(state_counts, filters)
    )
    page = paginator.get_page(params.get("page"))
    page.object_list = list(page.object_list)
    is_lead = request.user.has_perm(LEAD_PERMISSION)
    if is_lead and bulk_form is None:
        bulk_form = BulkAssignForm(menu=menu)
    return {
        "form": form,
        "filters": filters,
        "page": page,
        "state_counts": state_counts,
        "is_lead": is_lead,
        "bulk_form": bulk_form,
        "params": params,
        "query": params.urlencode(),
        # The template keeps the state tabs and the rows in fragments under "version", and
        # the filter form and the reviewer menu under their inputs. The menus' choices
        # (reviewers, cohorts) catch up within QUEUE_CACHE_SECONDS.
        "cache_seconds": QUEUE_CACHE_SECONDS,
        "version": _content_version(request, page, state_counts),
        # What the filter form draws depends on its own fields' values only (not the page).
        "form_key": urlencode(
            [(name, value) for name in form.fields for value in params.getlist(name)]
        ),
    }


def _render_queue(
    request: HttpRequest, params: QueryDict, *, bulk_form: BulkAssignForm | None = None
) -> HttpResponse:
    context = _queue_context(request, params, bulk_form=bulk_form)
    return render(request, "reviews/queue.html", context)


def _content_version(request: HttpRequest, page, state_counts) -> str:
    """Names what the page's data draws: the day (clock statuses move with it), the counts,
    and the rows' own ids, change stamps and values (queue_rows_signature). A change to a
    case that is not on the page, and does not move a count, leaves it the same."""
    scope = repr(
        (
            timezone.localdate(),
            state_counts,
            page.number,
            queue_rows_signature(page.object_list, user=request.user),
        )
    )
    return hashlib.sha256(scope.encode()).hexdigest()[:40]


def _page_key(request: HttpRequest, version: str) -> str:
    """Names one person's queue page: who they are and what they may do (the header, the
    menus and the bulk-assignment form depend on it), the filters and page, and `version`:
    the latest change anywhere (queue_version) or the page's own data (_content_version)."""
    user = request.user
    # The permissions were read for this request's permission check already.
    grants = "superuser" if user.is_superuser else sorted(user.get_all_permissions())
    scope = repr((grants, user.role, request.GET.urlencode()))
    digest = hashlib.sha256(scope.encode()).hexdigest()[:40]
    return f"queue-page:{user.pk}:{version}:{digest}"


def _with_token(request: HttpRequest, body: str) -> HttpResponse:
    return HttpResponse(body.replace(CSRF_PLACEHOLDER, get_token(request)))


@reviewer_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """The queue, its whole HTML kept per person and filters in the shared cache (Redis when
    REDIS_URL is set), under two names:

    - the latest change to any application (queue_version): while nothing changes, a repeat
      view costs one query (the session, its person and their permissions, and the
      version: airlock.sessions.read_with_session) and one cache read;
    - the page's own data (_content_version): when something changed elsewhere, the counts
      and the page's rows are read (two queries) and the page is drawn again only if what
      it shows changed. A team at work changes cases all day; most changes are to cases on
      no one's current page.

    The CSRF token is the one per-session part of the page: it is kept as a placeholder and
    filled in with this request's token. A page with messages to show is drawn afresh, so
    they are shown (and used up) once.
    """
    # Read with the session when its query could (airlock.sessions), else here.
    version = queue_version(request.user, rows=page_read(request))
    if len(messages.get_messages(request)):
        return _render_queue(request, request.GET)
    latest_key = _page_key(request, version)
    body = cache.get(latest_key)
    if body is None:
        context = _queue_context(request, request.GET, version=version)
        content_key = _page_key(request, context["version"])
        body = cache.get(content_key)
        if body is None:
            context["csrf_token"] = CSRF_PLACEHOLDER
            body = render(request, "reviews/queue.html", context).content.decode()
            cache.set(content_key, body, QUEUE_CACHE_SECONDS)
        cache.set(latest_key, body, QUEUE_CACHE_SECONDS)
    return _with_token(request, body)


CSV_HEADER = [
    "Reference",
    "State",
    "Device",
    "Version",
    "Organisation",
    "UK MDR class",
    "IMDRF category",
    "Clinical area",
    "Cohort",
    "Assignee",
    "Clock stage",
    "Clock due on",
    "Clock status",
    "Submitted at",
]


def _csv_rows(applications) -> Iterator[list]:
    yield CSV_HEADER
    for application in applications.iterator(chunk_size=CSV_BATCH):
        device = application.device
        submitted = application.submitted_at
        yield [
            application.reference,
            application.state_enum.label,
            device.name if device else "",
            device.version if device else "",
            application.organisation.name,
            device.get_mdr_class_display() if device else "",
            device.imdrf_category if device else "",
            device.get_clinical_area_display() if device else "",
            application.cohort or "",
            application.assignee or "",
            application.get_clock_stage_display(),
            application.clock_due_on.isoformat() if application.clock_due_on else "",
            ClockStatus(application.clock_state).label,
            timezone.localtime(submitted).strftime("%Y-%m-%d %H:%M") if submitted else "",
        ]


@reviewer_required
@require_GET
def queue_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered queue as CSV, streamed so a large export never sits in memory."""
    filters = QueueFilterForm(request.GET).filters()
    # A report: read from the replica when there is one (settings.REPORTING_DATABASE).
    applications = review_queue(user=request.user, filters=filters).using(
        settings.REPORTING_DATABASE
    )
    writer = csv.writer(Echo())
    response = StreamingHttpResponse(
        (writer.writerow([safe_cell(value) for value in row]) for row in _csv_rows(applications)),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="review-queue-{stamp}.csv"'
    return response


@lead_required
@require_POST
def bulk_assign(request: HttpRequest) -> HttpResponse:
    # The queue's filters travel with the form so the lead lands back where they were.
    params = QueryDict(request.POST.get("query", ""))
    visible = applications_for(request.user).exclude(state=ApplicationState.DRAFT)
    form = BulkAssignForm(request.POST, visible=visible)
    if not form.is_valid():
        return _render_queue(request, params, bulk_form=form)
    reviewer = form.cleaned_data["reviewer"]
    result = application_bulk_assign(
        application_ids=[a.pk for a in form.cleaned_data["applications"]],
        actor=request.user,
        reviewer=reviewer,
    )
    if result.assigned:
        messages.success(
            request,
            f"Assigned {len(result.assigned)} to {reviewer}: {', '.join(result.assigned)}.",
        )
    for reference, reason in result.refused:
        messages.warning(request, f"{reference} not assigned. {reason}")
    url = reverse("reviews:queue")
    return redirect(f"{url}?{params.urlencode()}" if params else url)
