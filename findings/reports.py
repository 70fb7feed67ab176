"""Programme reports as PDF: asked for by a lead reviewer, drawn by the documents worker with
the documents app's WeasyPrint machinery (documents.rendering)."""

import hashlib
import logging

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from airlock.models import User
from airlock.queue import enqueue_on_commit
from devices.models import Application
from findings.audit import programme_event_record
from findings.models import ProgrammeEventKind, ProgrammeReport
from findings.programme import hidden_fields, programme_report
from findings.selectors import may_curate
from reviews.models import Cohort, ConflictOfInterest

logger = logging.getLogger(__name__)


def report_refusal(user: User, cohort: Cohort) -> str:
    """Why `user` may not draw or read the cohort's PDF, or "". The PDF covers the whole
    cohort, so a lead conflicted with any of its organisations is left out of it."""
    if not may_curate(user):
        return "Only a lead reviewer draws the programme report."
    if user.is_superuser:
        return ""
    organisations = Application.objects.filter(cohort=cohort).values("organisation_id")
    if ConflictOfInterest.objects.filter(reviewer=user, organisation_id__in=organisations).exists():
        return (
            "You have declared a conflict of interest with an organisation in this cohort: "
            "another lead reviewer must draw its report."
        )
    return ""


def programme_report_request(*, actor: User, cohort_id: int) -> ProgrammeReport:
    """Ask for a cohort's report as PDF. Steps: refuse anyone but an unconflicted lead; record
    the request with the fields the setting leaves out today; audit; send the drawing to the
    documents queue after commit (the repair sweep draws it if that message is lost)."""
    with transaction.atomic():
        cohort = Cohort.objects.select_for_update().get(pk=cohort_id)
        refusal = report_refusal(actor, cohort)
        if refusal:
            raise PermissionDenied(refusal)
        report = ProgrammeReport.objects.create(
            cohort=cohort, requested_by=actor, hidden_fields=hidden_fields()
        )
        programme_event_record(
            actor=actor,
            kind=ProgrammeEventKind.REPORT_REQUESTED,
            report=report,
            detail=f"{cohort.name}; left out: {', '.join(report.hidden_fields) or 'nothing'}",
        )
        enqueue_on_commit("findings.tasks.draw_programme_report", report.pk)
    return report


def programme_report_draw(*, report_id: int) -> ProgrammeReport:
    """Draw one asked-for report (the task). Locks the row, so two workers draw it once; a
    drawn report is left as it is."""
    from documents.rendering import render_pdf

    with transaction.atomic():
        report = (
            ProgrammeReport.objects.select_for_update(of=("self",))
            .select_related("cohort")
            .get(pk=report_id)
        )
        if report.drawn_at is not None:
            return report
        context = programme_report(None, report.cohort, hidden=list(report.hidden_fields))
        content = render_pdf("findings/pdf/programme_report.html", context)
        report.file.save("report.pdf", ContentFile(content), save=False)
        report.sha256 = hashlib.sha256(content).hexdigest()
        report.size = len(content)
        report.drawn_at = timezone.now()
        report.save(update_fields=["file", "sha256", "size", "drawn_at"])
    logger.info("Drew programme report %s for %s", report.pk, report.cohort)
    return report


def reports_undrawn(limit: int = 50) -> list[int]:
    return list(
        ProgrammeReport.objects.filter(drawn_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
