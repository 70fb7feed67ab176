"""A Redis cache that treats an unreachable or unanswering Redis as an empty cache.

Redis is the broker as well as the cache, so when it is down the site must keep working on the
database alone (nothing a user submits may be lost). Reads then miss, writes are dropped, and a
warning is logged; every caller already copes with a miss because entries expire anyway.

A Redis that accepts connections but never answers is the slow case: each call would wait out
its socket timeout (REDIS_TIMEOUT_SECONDS). After the first such failure the circuit breaker
(airlock.breaker) opens and calls are answered as misses without touching Redis at all, so a
request waits for Redis once at most, briefly, and then not again for REDIS_BREAKER_SECONDS.
"""

import logging
from functools import wraps

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from airlock.breaker import breaker_for

logger = logging.getLogger(__name__)
_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)


def _tolerant(method, fallback):
    @wraps(method)
    def call(self, *args, **kwargs):
        breaker = self.breaker
        if breaker.is_open:
            return fallback(*args, **kwargs)
        try:
            result = method(self, *args, **kwargs)
        except _UNAVAILABLE as exc:
            breaker.trip(exc)
            logger.warning("cache unavailable, %s skipped: %s", method.__name__, exc)
            return fallback(*args, **kwargs)
        breaker.succeeded()
        return result

    return call


def _default(key, default=None, *args, **kwargs):
    return default


def _not_counted(key, delta=1, *args, **kwargs):
    # Nothing counted while Redis is away: a rate limit built on incr() lets requests
    # through rather than refusing everyone (airlock.api_limits).
    return 0


class ResilientRedisCache(RedisCache):
    @property
    def breaker(self):
        return breaker_for(self._servers[0])

    get = _tolerant(RedisCache.get, _default)
    get_many = _tolerant(RedisCache.get_many, lambda *a, **k: {})
    has_key = _tolerant(RedisCache.has_key, lambda *a, **k: False)
    set = _tolerant(RedisCache.set, lambda *a, **k: None)
    add = _tolerant(RedisCache.add, lambda *a, **k: False)
    set_many = _tolerant(RedisCache.set_many, lambda data, *a, **k: list(data))
    touch = _tolerant(RedisCache.touch, lambda *a, **k: False)
    incr = _tolerant(RedisCache.incr, _not_counted)
    delete = _tolerant(RedisCache.delete, lambda *a, **k: False)
    delete_many = _tolerant(RedisCache.delete_many, lambda *a, **k: None)
    clear = _tolerant(RedisCache.clear, lambda *a, **k: False)
