"""The API's limits (airlock/api_limits.py), as the attack found them missing: `?limit=1000000`
returned everything, and 200 requests and 50 wrong tokens in a row met no 429.
"""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from devices.models import ApplicationState
from tests.factories import make_application, make_manufacturer

pytestmark = pytest.mark.django_db

APPLICATIONS = reverse("api:applications")


def _token(user) -> str:
    return f"Token {Token.objects.get_or_create(user=user)[0].key}"


@pytest.fixture(autouse=True)
def clock():
    # The limits count in fixed windows: keep a test's requests inside one.
    with time_machine.travel(timezone.now().replace(second=1), tick=False) as traveller:
        yield traveller


def test_a_huge_page_size_is_capped(client, manufacturer, settings):
    settings.API_MAX_PAGE_SIZE = 3
    for _ in range(5):
        make_application(
            ApplicationState.SUBMITTED,
            organisation=manufacturer.membership.organisation,
            created_by=manufacturer,
        )

    response = client.get(
        APPLICATIONS, {"limit": "1000000"}, headers={"Authorization": _token(manufacturer)}
    )

    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 5
    assert len(body["results"]) == 3
    assert "limit=3" in body["next"]


@pytest.mark.parametrize("offset", ["9" * 30, "9" * 5000, "-5", "x"])
def test_an_absurd_offset_is_an_empty_or_first_page_not_an_error(client, manufacturer, offset):
    response = client.get(
        APPLICATIONS, {"offset": offset}, headers={"Authorization": _token(manufacturer)}
    )

    assert response.status_code == 200


def test_two_hundred_requests_with_one_token_meet_a_429(client, manufacturer):
    answers = [
        client.get(APPLICATIONS, headers={"Authorization": _token(manufacturer)}).status_code
        for _ in range(200)
    ]

    assert answers[:120] == [200] * 120
    assert set(answers[120:]) == {429}


def test_the_token_limit_names_when_to_come_back_and_lifts_after_the_minute(
    client, manufacturer, clock
):
    headers = {"Authorization": _token(manufacturer)}
    for _ in range(120):
        client.get(APPLICATIONS, headers=headers)

    refused = client.get(APPLICATIONS, headers=headers)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60

    clock.shift(timedelta(minutes=1))
    assert client.get(APPLICATIONS, headers=headers).status_code == 200


def test_the_token_limit_follows_the_token_not_the_address(client, manufacturer):
    headers = {"Authorization": _token(manufacturer)}
    for number in range(121):
        response = client.get(APPLICATIONS, headers=headers, REMOTE_ADDR=f"198.51.100.{number}")

    assert response.status_code == 429


def test_wrong_tokens_count_against_the_address(client, manufacturer):
    answers = [
        client.get(APPLICATIONS, headers={"Authorization": f"Token wrong-{n}"}).status_code
        for n in range(50)
    ]

    assert answers[:20] == [401] * 20
    assert set(answers[20:]) == {429}
    # From that address even a right token waits; from another it does not.
    right = {"Authorization": _token(manufacturer)}
    assert client.get(APPLICATIONS, headers=right).status_code == 429
    assert client.get(APPLICATIONS, headers=right, REMOTE_ADDR="198.51.100.7").status_code == 200


def test_missing_and_wrong_partner_tokens_count_too(client):
    feed = reverse("api:alert-feed")
    for number in range(20):
        headers = {"Authorization": f"Bearer wrong-{number}"} if number % 2 else {}
        assert client.get(feed, headers=headers).status_code == 401

    assert client.get(feed).status_code == 429


def test_every_request_from_one_address_counts_whatever_the_token(client, organisation, settings):
    settings.API_ADDRESS_REQUESTS_PER_MINUTE = 10
    tokens = [
        _token(make_manufacturer(organisation, email=f"system{n}@example.test")) for n in range(4)
    ]

    answers = [
        client.get(APPLICATIONS, headers={"Authorization": tokens[n % 4]}).status_code
        for n in range(12)
    ]

    assert answers[:10] == [200] * 10
    assert answers[10:] == [429, 429]


def test_a_forged_forwarded_for_header_does_not_change_the_address(client):
    for number in range(20):
        client.get(
            APPLICATIONS,
            headers={"Authorization": "Token wrong", "X-Forwarded-For": f"203.0.113.{number}"},
        )

    assert client.get(APPLICATIONS, headers={"X-Forwarded-For": "192.0.2.1"}).status_code == 429


def test_the_limits_leave_the_site_alone(client, manufacturer, settings):
    settings.API_ADDRESS_REQUESTS_PER_MINUTE = 1
    client.force_login(manufacturer)

    assert all(client.get(reverse("devices:home")).status_code == 200 for _ in range(5))


# --- The API's documentation -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["api:schema", "api:docs"])
def test_the_documentation_is_public_only_when_the_setting_says_so(
    client, manufacturer, reviewer, settings, name
):
    url = reverse(name)
    settings.API_DOCS_PUBLIC = True
    assert client.get(url).status_code == 200

    settings.API_DOCS_PUBLIC = False
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": _token(manufacturer)}).status_code == 200
    client.force_login(reviewer)
    assert client.get(url).status_code == 200
