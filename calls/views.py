"""The calls for applications, for anyone: what each seeks, when it opens and closes."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from calls.models import Call


@require_GET
def call_list(request: HttpRequest) -> HttpResponse:
    """Open calls first, then those still to open; closed calls last (most recent first)."""
    now = timezone.now()
    calls = Call.objects.prefetch_related("selection_criteria", "eligibility_criteria")
    return render(
        request,
        "calls/list.html",
        {
            "open_calls": list(calls.open(now)),
            "coming": list(calls.filter(opens_at__gt=now).order_by("opens_at")),
            "closed": list(calls.filter(closes_at__lte=now)[:10]),
        },
    )
