"""The JSON API, fuzzed from its own OpenAPI schema by schemathesis: never a server error, and
documented answers shaped as documented.

Schemathesis reads /api/schema/ from the WSGI application and generates requests for every
operation in it, valid and invalid alike, sent in-process with a manufacturer's token (on the
manufacturer endpoints) or a partner regulator's bearer token (on the alert endpoints); a few
go with no token or a wrong one. Path parameters name one of the manufacturer's real cases
about half the time, so the requests reach the service layer instead of stopping at a 404.
Examples are derandomized, so CI sends the same requests on every run.
"""

import hashlib
import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import URLPattern, get_resolver
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from airlock.wsgi import application
from devices.models import ApplicationState
from reviews.models import (
    Checkpoint,
    PartnerRegulator,
    SafetySignal,
    SignalSeverity,
    SignalSource,
)
from tests.factories import make_application

PARTNER_TOKEN = "fuzz-partner-inbound-token-0123456789"
# No server error, and a documented answer's body and content type match the schema.
# (status_code_conformance is left out: the schema does not list the 401, 403 and 404
# answers every endpoint gives.)
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# Documentation, not operations: the schema itself and the Swagger UI page.
NOT_OPERATIONS = {"schema", "docs"}


@pytest.fixture
def records(db, manufacturer):
    """A case in testing with a checkpoint to report, and a shared alert in the feed."""
    case = make_application(
        ApplicationState.IN_CONTROLLED_TESTING,
        organisation=manufacturer.membership.organisation,
        created_by=manufacturer,
    )
    Checkpoint.objects.create(application=case, sequence=1, due_on=timezone.localdate())
    SafetySignal.objects.create(
        application=case,
        metric="sensitivity",
        observed_value="0.71",
        severity=SignalSeverity.HIGH,
        source=SignalSource.REVIEWER,
        title="Sensitivity below threshold",
        description="Seen at one site.",
        shared_at=timezone.now(),
    )
    PartnerRegulator.objects.create(
        name="Fuzz Regulator",
        country="Nowhere",
        inbound_token_sha256=hashlib.sha256(PARTNER_TOKEN.encode()).hexdigest(),
    )
    return {
        "reference": case.reference,
        "manufacturer": f"Token {Token.objects.create(user=manufacturer).key}",
        "partner": f"Bearer {PARTNER_TOKEN}",
    }


@pytest.fixture
def in_this_transaction():
    # The requests run inside the test's transaction, as with Django's test client; which,
    # like this, stops Django closing the connection (and with it the transaction) per request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Read once, at collection: serving the schema needs no database. Each operation is a test
# of its own driving schemathesis' strategy with hypothesis, because schemathesis' pytest
# integration (schema.parametrize, from_fixture) sets Node._nodeid, which pytest 9 removed.
SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/", application)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def requests_for(operation, reference: str):
    """Valid and invalid requests; some with the path naming the manufacturer's real case."""
    variants = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    names = {parameter.name for parameter in operation.path_parameters}
    if "reference" in names:
        real = {"reference": reference} | ({"sequence": 1} if "sequence" in names else {})
        variants.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real))
        variants.append(operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=real))
    return st.one_of(variants)


@pytest.mark.parametrize(
    "operation", OPERATIONS, ids=[f"{op.method.upper()} {op.path}" for op in OPERATIONS]
)
def test_the_api_answers_hostile_requests_without_error_as_documented(
    records, in_this_transaction, operation
):
    partner = operation.path.startswith("/api/alerts/")
    credentials = {
        "right": {"Authorization": records["partner" if partner else "manufacturer"]},
        "none": {},
        "bad": {"Authorization": "Bearer not-a-token" if partner else "Token not-a-token"},
    }

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        requests_for(operation, records["reference"]),
        st.sampled_from(["right"] * 4 + ["none", "bad"]),
    )
    def call(case, who):
        case.call_and_validate(headers=credentials[who], checks=CHECKS)

    call()


def test_every_api_route_is_in_the_schema():
    """Only what the schema lists is fuzzed: an undocumented route would escape."""
    (api,) = [r for r in get_resolver().url_patterns if getattr(r, "namespace", "") == "api"]
    routes = {
        "/api/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        for pattern in api.url_patterns
        if isinstance(pattern, URLPattern) and pattern.name not in NOT_OPERATIONS
    }

    assert routes == {operation.path for operation in OPERATIONS}
