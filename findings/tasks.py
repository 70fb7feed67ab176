"""Thin Celery tasks (routed to the `documents` queue with the other PDFs)."""

from celery import shared_task
from django.db import OperationalError

from findings.reports import programme_report_draw, reports_undrawn


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, OSError),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=300,
    time_limit=360,
)
def draw_programme_report(report_id: int) -> str:
    return programme_report_draw(report_id=report_id).sha256


@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def draw_missing_programme_reports() -> int:
    """Sweep: reports asked for whose drawing message was lost."""
    return sum(1 for pk in reports_undrawn() if programme_report_draw(report_id=pk).drawn_at)
