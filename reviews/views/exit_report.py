"""The exit report: a printable summary of everything the review produced."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from reviews.selectors import exit_report as exit_report_of
from reviews.views.access import case_get, reviewer_required


@reviewer_required
@require_GET
def exit_report(request: HttpRequest, pk: int) -> HttpResponse:
    application = case_get(request, pk)
    context = {
        "report": exit_report_of(application),
        "application": application,
        "generated_at": timezone.now(),
    }
    return render(request, "reviews/exit_report.html", context)
