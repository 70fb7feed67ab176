"""Sending Celery tasks so that a dead broker never loses what a user submitted.

The database is the source of truth: a task only carries ids, and every task has a periodic
sweep that finds the rows it should have handled. So when the broker is down we log and move
on; the user's data is already committed and the next sweep does the work.

Services name their task ("reviews.tasks.deliver_alert") rather than import it: the tasks
modules import the services, so importing back would make a circle. Routing and options come
from the Celery configuration, which applies to a task sent by name as to one sent directly.
"""

import logging

from django.db import transaction
from kombu.exceptions import OperationalError

from airlock.celery import app

logger = logging.getLogger(__name__)


def enqueue(task_name: str, *args) -> bool:
    try:
        # retry=False: fail at once rather than hold the user's request while kombu retries.
        app.send_task(task_name, args=args, retry=False)
    except OperationalError as exc:
        logger.warning("broker unavailable, %s%r left for its sweep: %s", task_name, args, exc)
        return False
    return True


def enqueue_on_commit(task_name: str, *args) -> None:
    transaction.on_commit(lambda: enqueue(task_name, *args))
