"""A circuit breaker for Redis, shared by the cache and the sending of tasks.

A Redis that refuses connections costs a request nothing: the connection fails at once. One
that accepts connections and never answers (overloaded, half-dead, a network black hole)
costs every call its whole socket timeout, and a page makes several calls. So after one call
times out or fails, the breaker opens and nothing calls that Redis server again for
REDIS_BREAKER_SECONDS: the cache answers with misses and tasks are left for their repair
sweeps, exactly as when Redis is refusing connections. The first call after that is a trial:
if it works the breaker closes, if not it opens again. The cost of a dead Redis is then one
short timeout per process per REDIS_BREAKER_SECONDS, not one per call.

There is one breaker per Redis server (host and port, whatever the database number), so the
cache and the broker, when they share a server, share what they learn about it. The state is
per process: each web or worker process finds out for itself, at the price of one timeout.
"""

import logging
import threading
import time
from urllib.parse import urlsplit

from django.conf import settings

logger = logging.getLogger(__name__)


class CircuitBreaker:
    def __init__(self, name: str):
        self.name = name
        self._open_until = 0.0
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self, error: Exception) -> None:
        """A call failed: stop calling for REDIS_BREAKER_SECONDS."""
        with self._lock:
            was_closed = self._open_until == 0.0
            self._open_until = time.monotonic() + settings.REDIS_BREAKER_SECONDS
        if was_closed:
            logger.warning(
                "%s is not answering (%s): not calling it for %s s",
                self.name,
                error,
                settings.REDIS_BREAKER_SECONDS,
            )

    def succeeded(self) -> None:
        """A call worked: close the breaker if it had opened."""
        if self._open_until:
            with self._lock:
                self._open_until = 0.0
            logger.info("%s is answering again", self.name)


# By server, and by URL so that each cache call does not parse its URL again.
_breakers: dict[str, CircuitBreaker] = {}
_by_url: dict[str, CircuitBreaker | None] = {}
_breakers_lock = threading.Lock()


def breaker_for(url: str) -> CircuitBreaker | None:
    """The breaker for the Redis server at `url`; None for anything that is not Redis (the
    filesystem broker has no server to wait for)."""
    try:
        return _by_url[url]
    except KeyError:
        pass
    parts = urlsplit(url)
    with _breakers_lock:
        if parts.scheme not in {"redis", "rediss", "unix"}:
            breaker = None
        else:
            port = parts.port or 6379
            server = parts.path if parts.scheme == "unix" else f"{parts.hostname}:{port}"
            breaker = _breakers.setdefault(server, CircuitBreaker(f"Redis at {server}"))
        _by_url[url] = breaker
    return breaker


def reset_all() -> None:
    """Forget what every breaker learnt (tests start from a Redis nobody has judged yet)."""
    with _breakers_lock:
        _breakers.clear()
        _by_url.clear()
