"""Thin Celery task: the nightly audit chain check (ledger.services)."""

from celery import shared_task

from ledger.services import audit_chain_check


@shared_task(acks_late=True, soft_time_limit=1800, time_limit=1900)
def verify_audit_chain() -> bool:
    return audit_chain_check().ok
