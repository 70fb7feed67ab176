"""Sending Celery tasks so that a dead broker never loses what a user submitted.

The database is the source of truth: a task only carries ids, and every task has a periodic
sweep that finds the rows it should have handled. So when the broker is down we log and move
on; the user's data is already committed and the next sweep does the work.
"""

import logging

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def enqueue(task: Task, *args) -> bool:
    try:
        # retry=False: fail at once rather than hold the user's request while kombu retries.
        task.apply_async(args=args, retry=False)
    except OperationalError as exc:
        logger.warning("broker unavailable, %s%r left for its sweep: %s", task.name, args, exc)
        return False
    return True


def enqueue_on_commit(task: Task, *args) -> None:
    transaction.on_commit(lambda: enqueue(task, *args))
