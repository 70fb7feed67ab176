"""Sessions end after SESSION_IDLE_TIMEOUT without a request, and SESSION_COOKIE_AGE after
signing in, whichever comes first (airlock.middleware.SessionTimeoutMiddleware)."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from airlock.middleware import SEEN_AT
from tests.factories import TEST_PASSWORD

DASHBOARD = reverse("devices:home")


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def test_it_signs_out_after_an_hour_without_activity(client, manufacturer, clock):
    client.force_login(manufacturer)
    assert client.get(DASHBOARD).status_code == 200

    clock.shift(timedelta(minutes=61))
    response = client.get(DASHBOARD)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next=%2Fdashboard%2F"
    assert "_auth_user_id" not in client.session
    (message,) = get_messages(response.wsgi_request)
    assert "signed out after 60 minutes without activity" in str(message)
    login_page = client.get(response.url).content.decode()
    assert "signed out after 60 minutes without activity" in login_page


def test_activity_keeps_the_session_open(client, manufacturer, clock):
    client.force_login(manufacturer)
    for _ in range(5):
        clock.shift(timedelta(minutes=50))
        assert client.get(DASHBOARD).status_code == 200


def test_it_signs_out_eight_hours_after_signing_in_however_active(client, manufacturer, clock):
    client.post(reverse("login"), {"username": manufacturer.email, "password": TEST_PASSWORD})
    for _ in range(9):
        clock.shift(timedelta(minutes=50))
        assert client.get(DASHBOARD).status_code == 200

    clock.shift(timedelta(minutes=31))
    response = client.get(DASHBOARD)

    assert response.status_code == 302
    (message,) = get_messages(response.wsgi_request)
    assert "signed in over 8 hours ago" in str(message)


def test_the_idle_limit_comes_from_the_setting(client, manufacturer, clock, settings):
    settings.SESSION_IDLE_TIMEOUT = 15 * 60
    client.force_login(manufacturer)

    clock.shift(timedelta(minutes=16))

    assert client.get(DASHBOARD).status_code == 302


def test_it_records_activity_at_most_once_a_minute(client, manufacturer, clock):
    client.force_login(manufacturer)
    first = client.session[SEEN_AT]

    clock.shift(timedelta(seconds=30))
    client.get(DASHBOARD)
    assert client.session[SEEN_AT] == first

    clock.shift(timedelta(seconds=40))
    client.get(DASHBOARD)
    assert client.session[SEEN_AT] == first + 70


def test_an_htmx_request_after_the_limit_reloads_the_whole_page(client, manufacturer, clock):
    client.force_login(manufacturer)

    clock.shift(timedelta(hours=2))
    response = client.get(DASHBOARD, headers={"HX-Request": "true"})

    assert response["HX-Redirect"].startswith(reverse("login"))


def test_a_form_post_after_the_limit_goes_to_sign_in_without_next(client, manufacturer, clock):
    client.force_login(manufacturer)

    clock.shift(timedelta(hours=2))
    response = client.post(reverse("devices:device-create"), {"name": "x"})

    assert response.url == reverse("login")
    assert "_auth_user_id" not in client.session


def test_anonymous_visitors_are_untouched(client, db, clock):
    clock.shift(timedelta(hours=10))

    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert SEEN_AT not in client.session
