"""How much the API will do for one caller: page sizes, and requests per token and per address.

- Pages: `?limit=` is capped at API_MAX_PAGE_SIZE (asking for a million rows gets the cap).
- Per token: API_TOKEN_REQUESTS_PER_MINUTE for each account or partner regulator, whatever
  address it calls from (a DRF throttle, so after authentication).
- Per address: ApiAddressLimitMiddleware counts every API request before anything else runs,
  wrong and missing tokens included, against API_ADDRESS_REQUESTS_PER_MINUTE; and every
  answer of 401 (a wrong or missing token) against API_ADDRESS_FAILED_AUTHS_PER_HOUR, after
  which that address gets 429 until the hour is out, even with a right token.

The counters live in the cache (Redis in production, shared by every process; in memory, per
process, without it). With Redis unreachable nothing is counted, so nothing is refused: the
API keeps serving rather than refusing everyone. The address is REMOTE_ADDR, or, behind
NUM_PROXIES trusted proxies, the address they report (DRF's rule; never a header the client
could forge on its own).
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.throttling import BaseThrottle

MINUTE = 60
HOUR = 60 * 60


class CappedLimitOffsetPagination(LimitOffsetPagination):
    """LimitOffsetPagination with a ceiling: `?limit=1000000` returns API_MAX_PAGE_SIZE rows.
    (An offset past the end returns an empty page without asking the database for it.)"""

    @property
    def max_limit(self) -> int:
        return settings.API_MAX_PAGE_SIZE


def _window(seconds: int) -> tuple[str, int]:
    """The current fixed window's label and the seconds left in it."""
    now = time.time()
    return str(int(now // seconds)), seconds - int(now % seconds)


def _count(name: str, seconds: int) -> int:
    """Add one to a counter for the current window; the count so far (0 if uncounted)."""
    label, left = _window(seconds)
    key = f"api-limit:{name}:{label}"
    cache.add(key, 0, timeout=left + 1)
    try:
        return cache.incr(key)
    except ValueError:
        # Evicted between add() and incr(): count this one as the first.
        return 0


def _peek(name: str, seconds: int) -> int:
    label, _ = _window(seconds)
    return cache.get(f"api-limit:{name}:{label}", 0)


def client_address(request: HttpRequest) -> str:
    return BaseThrottle().get_ident(request)


def _too_many(detail: str, seconds: int) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=429)
    response["Retry-After"] = str(seconds)
    return response


class TokenRateThrottle(BaseThrottle):
    """API_TOKEN_REQUESTS_PER_MINUTE per authenticated caller (account or partner)."""

    def allow_request(self, request, view) -> bool:
        if request.auth is None:
            return True
        # Named by what the token belongs to: its key is a secret, and keys end up in logs.
        if hasattr(request.auth, "user_id"):
            caller = f"user:{request.auth.user_id}"
        else:
            caller = f"{type(request.auth).__name__}:{request.auth.pk}"
        self._wait = _window(MINUTE)[1]
        return _count(f"token:{caller}", MINUTE) <= settings.API_TOKEN_REQUESTS_PER_MINUTE

    def wait(self) -> int:
        return self._wait


class ApiAddressLimitMiddleware:
    """Per-address limits on the API, counted before authentication (see the module)."""

    NAMESPACE = "api"
    # Set on the request once process_view has counted it as an API call from this address.
    ADDRESS = "_api_client_address"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        address = getattr(request, self.ADDRESS, None)
        if address is not None and response.status_code == 401:
            _count(f"failed:{address}", HOUR)
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or self.NAMESPACE not in match.namespaces:
            return None
        address = client_address(request)
        if _peek(f"failed:{address}", HOUR) >= settings.API_ADDRESS_FAILED_AUTHS_PER_HOUR:
            return _too_many(
                "Too many requests with a wrong or missing token from this address. "
                "Check the token, then try again later.",
                _window(HOUR)[1],
            )
        setattr(request, self.ADDRESS, address)
        if _count(f"address:{address}", MINUTE) > settings.API_ADDRESS_REQUESTS_PER_MINUTE:
            return _too_many(
                "Too many requests from this address. Slow down and try again shortly.",
                _window(MINUTE)[1],
            )
        return None


def address_over_limit(request: HttpRequest, name: str, per_minute: int) -> bool:
    """Count one request to a public page from this address; True past `per_minute`."""
    return _count(f"{name}:{client_address(request)}", MINUTE) > per_minute
