"""The gap register's pages: a case's findings, the register, themes (lead reviewers) and the
programme report of a cohort (lead reviewers)."""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from devices.testing_forms import add_service_errors
from findings import services
from findings.forms import (
    FindingEditForm,
    FindingForm,
    RegisterFilterForm,
    ThemeFindingForm,
    ThemeForm,
)
from findings.models import ProgrammeReport, Theme
from findings.programme import programme_report as programme_report_of
from findings.reports import programme_report_request, report_refusal
from findings.selectors import case_findings as case_findings_of
from findings.selectors import findings_for, themes_with_findings
from findings.selectors import register as register_of
from reviews.models import Cohort
from reviews.views.access import case_get, lead_required, reviewer_required

PAGE_SIZE = 50


@reviewer_required
@require_http_methods(["GET", "POST"])
def case_findings(request: HttpRequest, pk: int) -> HttpResponse:
    """The case's findings, and the form to record one."""
    application = case_get(request, pk)
    form = FindingForm(request.POST if request.method == "POST" else None, application=application)
    if request.method == "POST" and form.is_valid():
        try:
            finding = services.finding_record(
                actor=request.user, application_id=application.pk, details=form.details()
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Finding recorded: “{finding.title}”.")
            return redirect("findings:case-findings", pk=application.pk)
    return render(
        request,
        "findings/case_findings.html",
        {
            "application": application,
            "findings": case_findings_of(request.user, application),
            "form": form,
        },
    )


@reviewer_required
@require_http_methods(["GET", "POST"])
def finding_edit(request: HttpRequest, pk: int) -> HttpResponse:
    visible = findings_for(request.user)
    finding = get_object_or_404(visible, pk=pk)
    application = case_get(request, finding.application_id)
    others = visible.exclude(application=application).order_by("application__reference", "pk")
    form = FindingEditForm(
        request.POST if request.method == "POST" else None,
        application=application,
        others=others,
        initial=FindingForm.initial_from(finding) if request.method == "GET" else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.finding_edit(
                actor=request.user,
                finding_id=finding.pk,
                details=form.details(),
                related_ids=[other.pk for other in form.cleaned_data["related"]],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Finding saved.")
            return redirect("findings:case-findings", pk=application.pk)
    return render(
        request,
        "findings/finding_edit.html",
        {"application": application, "finding": finding, "form": form},
    )


@reviewer_required
@require_GET
def register(request: HttpRequest) -> HttpResponse:
    """Every finding the reviewer may see, filterable by challenge area, theme and what it
    suggests."""
    filters = RegisterFilterForm(request.GET)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    findings = register_of(
        request.user,
        area=chosen.get("area"),
        theme=chosen.get("theme"),
        suggests=chosen.get("suggests") or "",
    )
    page = Paginator(findings, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "findings/register.html",
        {"filters": filters, "page": page, "query": query.urlencode()},
    )


def _with_form(
    request: HttpRequest, form, action: Callable[[], object], success: str, then: str, **kw
):
    """Run a service for a valid form: on success, a message and a redirect; on a refusal,
    the errors on the form (the page is shown again, 200)."""
    if not form.is_valid():
        return None
    try:
        action()
    except ValidationError as error:
        add_service_errors(form, error)
        return None
    messages.success(request, success)
    return redirect(then, **kw)


@lead_required
@require_http_methods(["GET", "POST"])
def themes(request: HttpRequest) -> HttpResponse:
    form = ThemeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        done = _with_form(
            request,
            form,
            lambda: services.theme_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                summary=form.cleaned_data["summary"],
            ),
            "Theme created.",
            "findings:themes",
        )
        if done:
            return done
    return render(
        request,
        "findings/themes.html",
        {"themes": themes_with_findings(request.user), "form": form},
    )


def _theme_page(request: HttpRequest, theme: Theme, *, form=None, add_form=None):
    visible = findings_for(request.user).order_by("application__reference", "pk")
    in_theme = list(visible.filter(themes=theme))
    return render(
        request,
        "findings/theme.html",
        {
            "theme": theme,
            "findings": in_theme,
            "form": form or ThemeForm(initial={"name": theme.name, "summary": theme.summary}),
            "add_form": add_form
            or ThemeFindingForm(findings=visible.exclude(pk__in=[f.pk for f in in_theme])),
        },
    )


@lead_required
@require_http_methods(["GET", "POST"])
def theme_detail(request: HttpRequest, pk: int) -> HttpResponse:
    theme = get_object_or_404(Theme, pk=pk)
    if request.method == "GET":
        return _theme_page(request, theme)
    form = ThemeForm(request.POST)
    done = _with_form(
        request,
        form,
        lambda: services.theme_edit(
            actor=request.user,
            theme_id=theme.pk,
            name=form.cleaned_data["name"],
            summary=form.cleaned_data["summary"],
        ),
        "Theme saved.",
        "findings:theme",
        pk=theme.pk,
    )
    return done or _theme_page(request, theme, form=form)


@lead_required
@require_POST
def theme_finding_add(request: HttpRequest, pk: int) -> HttpResponse:
    theme = get_object_or_404(Theme, pk=pk)
    form = ThemeFindingForm(request.POST, findings=findings_for(request.user))
    done = _with_form(
        request,
        form,
        lambda: services.theme_finding_add(
            actor=request.user, theme_id=theme.pk, finding_id=form.cleaned_data["finding"].pk
        ),
        "Finding added to the theme.",
        "findings:theme",
        pk=theme.pk,
    )
    return done or _theme_page(request, theme, add_form=form)


@lead_required
@require_POST
def theme_finding_remove(request: HttpRequest, pk: int) -> HttpResponse:
    theme = get_object_or_404(Theme, pk=pk)
    raw = request.POST.get("finding", "")
    # An id a bigint cannot hold is no finding (and must not reach the database).
    finding = None
    if raw.isascii() and raw.isdigit() and len(raw) < 19:
        finding = findings_for(request.user).filter(pk=int(raw)).first()
    if finding is None:
        raise Http404("No such finding.")
    try:
        services.theme_finding_remove(actor=request.user, theme_id=theme.pk, finding_id=finding.pk)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"“{finding.title}” taken out of the theme.")
    return redirect("findings:theme", pk=theme.pk)


@lead_required
@require_GET
def programme_reports(request: HttpRequest) -> HttpResponse:
    """Each cohort, with its report page and the PDFs drawn of it."""
    cohorts = Cohort.objects.prefetch_related("programme_reports").order_by("-starts_on")
    return render(request, "findings/programme_reports.html", {"cohorts": cohorts})


@lead_required
@require_GET
def programme_report(request: HttpRequest, pk: int) -> HttpResponse:
    cohort = get_object_or_404(Cohort, pk=pk)
    context = programme_report_of(request.user, cohort)
    context["pdf_refusal"] = report_refusal(request.user, cohort)
    context["pdfs"] = cohort.programme_reports.select_related("requested_by")
    return render(request, "findings/programme_report.html", context)


@lead_required
@require_POST
def programme_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    cohort = get_object_or_404(Cohort, pk=pk)
    programme_report_request(actor=request.user, cohort_id=cohort.pk)
    messages.success(
        request, "The PDF is being drawn: it appears below in a minute or so (refresh the page)."
    )
    return redirect("findings:programme-report", pk=cohort.pk)


@lead_required
@require_GET
def programme_report_download(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(
        ProgrammeReport.objects.select_related("cohort"), pk=pk, drawn_at__isnull=False
    )
    refusal = report_refusal(request.user, report.cohort)
    if refusal:
        raise PermissionDenied(refusal)
    try:
        handle = report.file.open("rb")
    except FileNotFoundError:
        raise Http404("This file is not available.") from None
    response = FileResponse(
        handle, as_attachment=True, filename=report.filename, content_type="application/pdf"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
