"""Thin Celery tasks: draw a case's documents (on the `documents` queue, so a slow PDF never
holds up an email), and the sweep that repairs a lost message."""

from celery import shared_task
from django.db import OperationalError

from documents.services import case_documents_issue, documents_missing


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, OSError),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=120,
    time_limit=150,
)
def issue_case_documents(application_id: int) -> int:
    return len(case_documents_issue(application_id=application_id))


@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def issue_missing_documents() -> int:
    """Sweep: cases decided whose documents were never drawn."""
    return sum(len(case_documents_issue(application_id=pk)) for pk in documents_missing())
