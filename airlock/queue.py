"""Sending Celery tasks so that a dead or unanswering broker never loses what a user submitted.

The database is the source of truth: a task only carries ids, and every task has a periodic
sweep that finds the rows it should have handled. So when the broker is down we log and move
on; the user's data is already committed and the next sweep does the work.

A broker that accepts connections but never answers must cost a request as little as one that
refuses them: tasks are sent over connections with short timeouts (REDIS_TIMEOUT_SECONDS, the
worker keeps Celery's own, longer ones for its long-polling), and after a failure the circuit
breaker shared with the cache (airlock.breaker) leaves the broker alone for a while, so the
next requests do not wait at all.

Services name their task ("reviews.tasks.deliver_alert") rather than import it: the tasks
modules import the services, so importing back would make a circle. Routing and options come
from the Celery configuration, which applies to a task sent by name as to one sent directly.
"""

import logging
import os
import threading

from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

from airlock.breaker import CircuitBreaker, breaker_for
from airlock.celery import app

logger = logging.getLogger(__name__)

_pool = None
_pool_key: tuple | None = None
_pool_lock = threading.Lock()


def _send_options() -> dict:
    options = dict(app.conf.broker_transport_options)
    if broker_breaker() is not None:
        timeout = settings.REDIS_TIMEOUT_SECONDS
        # Never retry within a request: the sweep is the retry.
        options.update(socket_connect_timeout=timeout, socket_timeout=timeout, max_retries=0)
    return options


def _connections():
    """This process's pool of short-timeout broker connections (made afresh after a fork,
    or when the broker's address changes)."""
    global _pool, _pool_key
    key = (os.getpid(), app.conf.broker_url)
    with _pool_lock:
        if _pool is None or _pool_key != key:
            connection = app.connection_for_write(transport_options=_send_options())
            _pool, _pool_key = connection.Pool(limit=None), key
        return _pool


def _discard_connections() -> None:
    """After a failure: connections that timed out mid-command are not worth reusing."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.force_close_all()
        _pool = None


def broker_breaker() -> CircuitBreaker | None:
    return breaker_for(app.conf.broker_url)


def enqueue(task_name: str, *args) -> bool:
    """Send a task; False (logged, left for its sweep) when the broker is unavailable."""
    breaker = broker_breaker()
    if breaker is not None and breaker.is_open:
        logger.warning("broker not answering lately, %s%r left for its sweep", task_name, args)
        return False
    try:
        with _connections().acquire(block=True) as connection:
            # retry=False: fail at once rather than hold the user's request while kombu retries.
            app.send_task(task_name, args=args, retry=False, connection=connection)
    except OperationalError as exc:
        _discard_connections()
        if breaker is not None:
            breaker.trip(exc)
        logger.warning("broker unavailable, %s%r left for its sweep: %s", task_name, args, exc)
        return False
    if breaker is not None:
        breaker.succeeded()
    return True


def enqueue_on_commit(task_name: str, *args) -> None:
    transaction.on_commit(lambda: enqueue(task_name, *args))


def broker_reachable() -> bool:
    """For /healthz/: one short check, or none while the breaker says the broker is not
    answering (a health check that hangs is worse than one that says "unavailable")."""
    breaker = broker_breaker()
    if breaker is not None and breaker.is_open:
        return False
    try:
        # A connection of its own: a pooled one may have been connected when the broker was.
        with app.connection_for_write(transport_options=_send_options()) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
    except Exception as exc:  # whatever the transport raises, the answer is "unavailable"
        if breaker is not None:
            breaker.trip(exc)
        logger.warning("healthz: broker check failed: %s", exc)
        return False
    return True
