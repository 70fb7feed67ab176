"""Thin Celery tasks for the manufacturer's side of the data: call a service, safe to run twice."""

from celery import shared_task

from devices.state_counts import state_counts_repair


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def repair_state_counts() -> int:
    """Sweep: recompute the review queue's per-state counts (devices/state_counts.py)."""
    return state_counts_repair()
