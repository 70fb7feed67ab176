"""Hostile bodies and NUL characters, sent to every route there is: never a 500.

- Every JSON endpoint (each API route that takes a POST, PUT or PATCH, found in the URLconf)
  gets, with a valid token and a real record in its path, the bodies that broke the alert
  intake and the report API: nesting 100,000 deep, 1e999999, NaN and Infinity, numbers too
  long to read, NUL and unpaired surrogates in keys and values, bytes that are not UTF-8, a
  body over the size limit. Each must be a 400 that names the problem
  (airlock/json_parsing.py).
- Every route in the URLconf, signed in, gets a NUL in its path, in a query parameter, in a
  header, in a cookie and in a form field: a 400 (airlock.middleware.RejectNulMiddleware), never
  a 500 from PostgreSQL refusing the string.
"""

import hashlib
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from devices.models import ApplicationState
from reviews.api import PartnerTokenAuthentication
from reviews.models import Checkpoint, IncomingAlert, PartnerRegulator
from tests.factories import make_application

pytestmark = pytest.mark.django_db

PARTNER_TOKEN = "hostile-partner-token-0123456789"
DEEP = 100_000

# Each body, and a word its 400 must contain.
HOSTILE_JSON = {
    "nested arrays": (b"[" * DEEP + b"]" * DEEP, "nested"),
    # 10,000 levels: 100,000 would be refused as too large before its depth is looked at.
    "nested objects": (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "nested"),
    "nested in a field": (b'{"metrics": ' + b"[" * DEEP + b"]" * DEEP + b"}", "nested"),
    "huge exponent": (b'{"cases_processed": 1, "metrics": {"sensitivity": 1e999999}}', "large"),
    "negative huge exponent": (b'{"summary": -1e999999}', "large"),
    "just over a double": (b'{"x": 1.8e308}', "large"),
    "NaN": (b'{"metrics": {"sensitivity": NaN}}', "NaN"),
    "Infinity": (b'{"metrics": {"sensitivity": Infinity}}', "Infinity"),
    "-Infinity": (b'{"x": -Infinity}', "Infinity"),
    "long integer": (b'{"cases_processed": ' + b"9" * 5000 + b"}", "large"),
    "integer past 64 bits": (b'{"cases_processed": 9223372036854775808}', "large"),
    "NUL in a value": (b'{"title": "a\\u0000b"}', "NUL"),
    "NUL in a key": (b'{"metrics": {"sens\\u0000itivity": 0.9}}', "NUL"),
    "unpaired surrogate": (b'{"title": "\\ud800"}', "surrogate"),
    "not UTF-8": (b'{"title": "\xff\xfe"}', "UTF-8"),
    "not JSON": (b"{'title': 'single quotes'}", "valid JSON"),
    "truncated": (b'{"title": "no end', "valid JSON"),
}


@pytest.fixture
def callers(manufacturer):
    case = make_application(
        ApplicationState.IN_CONTROLLED_TESTING,
        organisation=manufacturer.membership.organisation,
        created_by=manufacturer,
    )
    Checkpoint.objects.create(application=case, sequence=1, due_on=timezone.localdate())
    PartnerRegulator.objects.create(
        name="Hostile Regulator",
        country="Nowhere",
        inbound_token_sha256=hashlib.sha256(PARTNER_TOKEN.encode()).hexdigest(),
    )
    return {
        "parameters": {"reference": case.reference, "sequence": 1},
        "manufacturer": f"Token {Token.objects.create(user=manufacturer).key}",
        "partner": f"Bearer {PARTNER_TOKEN}",
    }


def api_routes() -> list[tuple[str, str, type]]:
    """(name, path pattern, view class) of every API route."""
    (api,) = [r for r in get_resolver().url_patterns if getattr(r, "namespace", "") == "api"]
    return [
        (f"api:{pattern.name}", str(pattern.pattern), pattern.callback.cls)
        for pattern in api.url_patterns
        if isinstance(pattern, URLPattern)
    ]


def json_endpoints() -> list[tuple[str, str, str]]:
    """(route name, method, path pattern) for every API route that reads a body."""
    return [
        (name, method, path)
        for name, path, view in api_routes()
        for method in ("post", "put", "patch")
        if hasattr(view, method)
    ]


def _credentials(name: str, callers: dict) -> str:
    view = next(view for route, _, view in api_routes() if route == name)
    partner = PartnerTokenAuthentication in view.authentication_classes
    return callers["partner" if partner else "manufacturer"]


def test_the_json_endpoints_are_found():
    found = {(name, method) for name, method, _ in json_endpoints()}

    assert {("api:checkpoint-report", "post"), ("api:alert-incoming", "post")} <= found


@pytest.mark.parametrize(("name", "method", "path"), json_endpoints())
@pytest.mark.parametrize("body", HOSTILE_JSON.keys())
def test_every_json_endpoint_refuses_a_hostile_body_naming_the_problem(
    client, callers, name, method, path, body
):
    parameters = re.findall(r"<(?:\w+:)?(\w+)>", path)
    unknown = [p for p in parameters if p not in callers["parameters"]]
    assert not unknown, f"{name}: give the callers fixture a value for {unknown}"
    url = reverse(name, kwargs={p: callers["parameters"][p] for p in parameters})
    content, word = HOSTILE_JSON[body]

    response = getattr(client, method)(
        url,
        content,
        content_type="application/json",
        headers={"Authorization": _credentials(name, callers)},
    )

    assert response.status_code == 400, response.content[:300]
    assert word.lower() in response.json()["detail"].lower()
    assert not IncomingAlert.objects.exists()


@pytest.mark.parametrize(("name", "method", "path"), json_endpoints())
def test_every_json_endpoint_refuses_a_body_over_the_limit_before_reading_it(
    client, callers, settings, name, method, path
):
    settings.API_MAX_JSON_BYTES = 1024
    parameters = re.findall(r"<(?:\w+:)?(\w+)>", path)
    url = reverse(name, kwargs={p: callers["parameters"][p] for p in parameters})
    headers = {"Authorization": _credentials(name, callers)}
    big = b'{"narrative": "' + b"x" * 2048 + b'"}'

    response = getattr(client, method)(url, big, content_type="application/json", headers=headers)

    assert response.status_code == 400
    assert "larger than 1.0" in response.json()["detail"]


# --- NUL anywhere ------------------------------------------------------------------------------


def every_path() -> list[str]:
    """Every route's path pattern, through every include, the admin's too."""

    def walk(patterns, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern)

    return sorted(set(walk(get_resolver().url_patterns, "/")))


def with_nul(pattern: str) -> str:
    """The path with each parameter (and the last segment when there is none) holding a NUL,
    written as a browser would send it, %00."""
    path = re.sub(
        r"<(?:(\w+):)?\w+>", lambda m: "1%00" if m.group(1) == "int" else "x%00y", pattern
    )
    path = re.sub(r"\^|\$|\(\?P<\w+>[^)]*\)", "x%00", path)
    return path if "%00" in path else path + "nul%00/"


def test_a_nul_anywhere_in_any_request_is_a_400_never_a_500(admin_user):
    client = Client()
    client.force_login(admin_user)
    problems = []
    for pattern in every_path():
        clean = re.sub(r"<(?:int:)?\w+>", "1", pattern).replace("^", "").replace("$", "")
        attempts = {
            "path": (client.get, with_nul(pattern), {}),
            "query": (client.get, clean, {"data": {"q": "a\x00b"}}),
            "query name": (client.get, clean + "?a%00b=1", {}),
            "header": (client.get, clean, {"headers": {"X-Anything": "a\x00b"}}),
            "authorization": (client.get, clean, {"headers": {"Authorization": "Token a\x00b"}}),
            "cookie": (client.get, clean, {"headers": {"Cookie": "sessionid=a\x00b"}}),
            "form": (client.post, clean, {"data": {"body": "a\x00b"}}),
        }
        for where, (send, url, kwargs) in attempts.items():
            response = send(url, **kwargs)
            if response.status_code != 400:
                problems.append(f"{where} NUL on {pattern}: {response.status_code}")

    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("request_kwargs", "where"),
    [
        ({"path": "/api/applications/AIA%00x/"}, "the address"),
        ({"headers": {"Authorization": "Token abc\x00def"}}, "a header"),
        ({"data": {"limit": "1\x00"}}, "a query parameter"),
    ],
)
def test_the_api_answers_a_nul_with_json_naming_where(client, db, request_kwargs, where):
    path = request_kwargs.pop("path", "/api/applications/")

    response = client.get(path, **request_kwargs)

    assert response.status_code == 400
    assert response.json() == {
        "detail": f"The request was refused: {where} contains a NUL character."
    }


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary="])
def test_a_form_body_too_broken_to_read_is_a_400(client, manufacturer, content_type):
    """Whatever reads a form first (CSRF does, in production) would otherwise meet Django's
    MultiPartParserError, which nothing turns into a 400: a 500."""
    client.force_login(manufacturer)

    response = client.generic(
        "POST", reverse("devices:device-create"), b"--y\r\nnot a part", content_type=content_type
    )

    assert response.status_code == 400
    assert b"form data is malformed" in response.content
