"""The platform's own jobs: thin, idempotent, safe to run twice."""

from celery import shared_task

from airlock.models import heartbeat_stamp


# Beat sends one to each queue every minute (airlock/celery.py): the worker that runs it shows
# /healthz/ready/ that this queue is being served.
@shared_task(acks_late=True, ignore_result=True, soft_time_limit=10, time_limit=20)
def heartbeat(queue: str) -> None:
    heartbeat_stamp(f"worker:{queue}")
