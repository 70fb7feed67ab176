"""django-axes: five wrong passwords pause sign-in for that address from that IP address."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.factories import TEST_PASSWORD

LOGIN = reverse("login")


def _attempt(client, email, password="wrong-password", **extra):
    return client.post(LOGIN, {"username": email, "password": password}, **extra)


def _fail_five_times(client, email, **extra):
    return [_attempt(client, email, **extra) for _ in range(5)]


def test_it_locks_after_five_failures_and_refuses_even_the_right_password(client, manufacturer):
    responses = _fail_five_times(client, manufacturer.email)

    assert [r.status_code for r in responses[:4]] == [200] * 4
    assert all("There is a problem" in r.content.decode() for r in responses[:4])
    assert responses[4].status_code == 429
    right = _attempt(client, manufacturer.email, TEST_PASSWORD)
    assert right.status_code == 429
    page = right.content.decode()
    assert "Sign-in is paused for 15 minutes" in page
    assert 'role="alert"' in page
    assert reverse("password_reset") in page
    # The page is the sign-in page itself, with the address kept, not a bare error text.
    assert "Sign in to Airlock" in page
    assert manufacturer.email in page
    assert "_auth_user_id" not in client.session


def test_it_lets_the_person_in_again_after_the_pause(client, manufacturer):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _fail_five_times(client, manufacturer.email)
        assert _attempt(client, manufacturer.email, TEST_PASSWORD).status_code == 429

        clock.shift(timedelta(minutes=16))
        response = _attempt(client, manufacturer.email, TEST_PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(manufacturer.pk)


def test_attempts_during_the_pause_do_not_extend_it(client, manufacturer):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _fail_five_times(client, manufacturer.email)
        clock.shift(timedelta(minutes=10))
        assert _attempt(client, manufacturer.email).status_code == 429

        clock.shift(timedelta(minutes=6))
        assert _attempt(client, manufacturer.email, TEST_PASSWORD).status_code == 302


def test_it_counts_an_address_however_it_is_typed(client, manufacturer):
    for email in ["MAKER@example.test", "maker@EXAMPLE.test", " maker@example.test"] * 2:
        last = _attempt(client, email)

    assert last.status_code == 429


@pytest.mark.parametrize("locked", ["address", "ip"])
def test_it_locks_the_address_and_ip_pair_only(client, manufacturer, locked):
    _fail_five_times(client, manufacturer.email, REMOTE_ADDR="203.0.113.7")

    if locked == "address":
        # The real owner, from their own network, is not locked out by a stranger's guesses.
        response = _attempt(client, manufacturer.email, TEST_PASSWORD, REMOTE_ADDR="198.51.100.2")
        assert response.status_code == 302
    else:
        response = _attempt(client, manufacturer.email, TEST_PASSWORD, REMOTE_ADDR="203.0.113.7")
        assert response.status_code == 429


def test_a_successful_sign_in_clears_earlier_failures(client, manufacturer):
    for _ in range(4):
        _attempt(client, manufacturer.email)
    assert _attempt(client, manufacturer.email, TEST_PASSWORD).status_code == 302
    client.post(reverse("logout"))

    responses = [_attempt(client, manufacturer.email) for _ in range(4)]

    assert all(r.status_code == 200 for r in responses)


def test_resetting_the_password_lifts_the_pause(client, manufacturer):
    _fail_five_times(client, manufacturer.email)
    client.post(reverse("password_reset"), {"email": manufacturer.email})
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line)
    form_page = client.get(link.split("testserver", 1)[1], follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-long-passphrase", "new_password2": "a-new-long-passphrase"},
    )

    response = _attempt(client, manufacturer.email, "a-new-long-passphrase")

    assert response.status_code == 302


def test_the_admin_sign_in_is_locked_the_same_way(client, admin_user):
    for _ in range(5):
        client.post("/admin/login/", {"username": admin_user.email, "password": "nope"})

    response = client.post(
        "/admin/login/", {"username": admin_user.email, "password": TEST_PASSWORD}
    )

    assert response.status_code == 429
    assert "Sign-in is paused" in response.content.decode()
