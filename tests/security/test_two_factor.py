"""Two-factor sign-in (TOTP) for reviewers, lead reviewers and administrators."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from airlock.models import SecurityEvent, SecurityEventKind, TwoFactorEnrolment
from tests.factories import TEST_PASSWORD

SETUP = reverse("two-factor-setup")
VERIFY = reverse("two-factor-verify")


@pytest.fixture(autouse=True)
def _require_2fa(settings):
    # Development (and so the rest of the suite) runs with it off; production turns it on.
    settings.AIRLOCK_REQUIRE_2FA = True


def code_for(device: TOTPDevice, *, offset: int = 0) -> str:
    return f"{totp(device.bin_key, t0=-offset * device.step):06d}"


def wrong_code_for(device: TOTPDevice) -> str:
    valid = {code_for(device, offset=o) for o in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


@pytest.fixture
def confirmed(reviewer):
    return TOTPDevice.objects.create(user=reviewer, name="Authenticator app", confirmed=True)


def link_in(message) -> str:
    return re.search(r"https?://\S+/accounts/two-factor/enrol/\S+/", message.body).group(0)


def open_emailed_link(client, django_capture_on_commit_callbacks) -> str:
    """As the signed-in person: ask for the set-up link, and open it from the email."""
    with django_capture_on_commit_callbacks(execute=True):
        client.post(SETUP)
    url = link_in(mail.outbox[-1])
    client.get(url)
    return url


@pytest.fixture
def enrolled(client, reviewer, django_capture_on_commit_callbacks):
    """A signed-in reviewer who has opened their emailed set-up link."""
    client.force_login(reviewer)
    return open_emailed_link(client, django_capture_on_commit_callbacks)


def test_it_sends_a_reviewer_without_a_device_to_set_one_up(client, reviewer):
    client.force_login(reviewer)

    response = client.get(reverse("reviews:queue"))

    assert response.status_code == 302
    assert response.url == f"{SETUP}?next=%2Freviews%2Fqueue%2F"


def test_the_setup_page_shows_the_secret_in_groups_and_a_qr_code(client, reviewer, enrolled):
    page = client.get(SETUP).content.decode()

    device = TOTPDevice.objects.get(user=reviewer, confirmed=False)
    secret = re.search(r"<code>([A-Z2-7 ]+)</code>", page).group(1)
    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", secret)
    assert secret.replace(" ", "") in device.config_url
    svg = re.search(r"<svg[^>]*>", page).group(0)
    assert 'class="qr-code"' in svg
    assert 'role="img"' in svg
    assert 'aria-label="QR code for your authenticator app"' in svg
    assert "style=" not in page
    # Reloading keeps the secret the person may already have scanned.
    assert secret in client.get(SETUP).content.decode()
    assert TOTPDevice.objects.filter(user=reviewer).count() == 1


def test_a_wrong_code_is_a_form_error_and_the_right_one_opens_the_page(client, reviewer, enrolled):
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=reviewer)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        wrong = client.post(SETUP, {"token": wrong_code_for(device), "next": "/reviews/queue/"})

        assert wrong.status_code == 200
        assert "That code did not match" in wrong.context["form"].errors["token"][0]
        assert "There is a problem" in wrong.content.decode()
        device.refresh_from_db()
        assert not device.confirmed

        # django-otp makes each wrong code in a row cost a longer wait.
        clock.shift(timedelta(seconds=2))
        right = client.post(SETUP, {"token": code_for(device), "next": "/reviews/queue/"})

    assert right.status_code == 302
    assert right.url == "/reviews/queue/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("reviews:queue")).status_code == 200


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "Enter the 6-digit code from your authenticator app."),
        ("12ab56", "Enter the 6 digits of the code, with no letters."),
        ("1234567", "Enter the 6 digits of the code, with no letters."),
    ],
)
def test_a_malformed_code_is_a_field_error(client, reviewer, enrolled, token, message):
    response = client.post(SETUP, {"token": token})

    assert response.status_code == 200
    assert response.context["form"].errors["token"] == [message]


def test_a_code_with_spaces_is_accepted(client, reviewer, enrolled):
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=reviewer)
    code = code_for(device)

    response = client.post(SETUP, {"token": f"{code[:3]} {code[3:]}"})

    assert response.status_code == 302


def test_quick_wrong_codes_are_throttled_with_a_wait_in_words(client, reviewer, confirmed):
    client.force_login(reviewer)
    with time_machine.travel(timezone.now(), tick=False):
        client.post(VERIFY, {"token": wrong_code_for(confirmed)})
        client.post(VERIFY, {"token": wrong_code_for(confirmed)})
        response = client.post(VERIFY, {"token": code_for(confirmed)})

    (error,) = response.context["form"].errors["token"]
    assert error.startswith("Too many wrong codes in a row. Wait 1 second")
    assert client.get(reverse("reviews:queue")).status_code == 302


def test_a_reviewer_with_a_device_is_asked_for_a_code(client, reviewer, confirmed):
    client.force_login(reviewer)

    response = client.get(reverse("reviews:queue"))

    assert response.url == f"{VERIFY}?next=%2Freviews%2Fqueue%2F"
    assert client.post(VERIFY, {"token": code_for(confirmed), "next": "/reviews/queue/"}).url == (
        "/reviews/queue/"
    )
    assert client.get(reverse("reviews:queue")).status_code == 200


def test_a_used_code_cannot_be_used_again(client, reviewer, confirmed):
    code = code_for(confirmed)
    client.force_login(reviewer)
    assert client.post(VERIFY, {"token": code}).status_code == 302
    client.post(reverse("logout"))
    client.force_login(reviewer)

    response = client.post(VERIFY, {"token": code})

    assert "That code did not match" in response.context["form"].errors["token"][0]


def test_a_password_alone_cannot_add_a_second_device(client, reviewer, confirmed):
    client.force_login(reviewer)

    response = client.get(SETUP)

    assert response.status_code == 302
    assert response.url == VERIFY
    assert TOTPDevice.objects.filter(user=reviewer).count() == 1


def test_passing_the_second_factor_gives_the_session_a_new_key(client, reviewer, confirmed):
    client.force_login(reviewer)
    before = client.session.session_key

    client.post(VERIFY, {"token": code_for(confirmed)})

    assert client.session.session_key != before
    assert client.session["_auth_user_id"] == str(reviewer.pk)


def test_next_must_be_one_of_our_pages(client, reviewer, confirmed):
    client.force_login(reviewer)

    response = client.post(VERIFY, {"token": code_for(confirmed), "next": "https://evil.example/"})

    assert response.url == reverse("home")


@pytest.mark.parametrize("persona", ["lead_reviewer", "admin_user"])
def test_lead_reviewers_and_administrators_need_it_too(client, request, persona):
    client.force_login(request.getfixturevalue(persona))

    response = client.get(reverse("home"))

    assert response.url.startswith(SETUP)


def test_the_admin_requires_it(client, admin_user):
    client.force_login(admin_user)

    response = client.get("/admin/devices/application/")

    assert response.status_code == 302
    assert response.url == f"{SETUP}?next=%2Fadmin%2Fdevices%2Fapplication%2F"


def test_manufacturers_are_never_asked(client, manufacturer):
    client.force_login(manufacturer)

    assert client.get(reverse("devices:home")).status_code == 200
    assert client.get(SETUP).status_code == 403
    assert client.get(VERIFY).status_code == 403
    assert not TOTPDevice.objects.exists()


def test_it_lets_unverified_staff_sign_out_and_reach_health_and_api(client, reviewer):
    client.force_login(reviewer)

    assert client.get(reverse("healthz")).status_code in {200, 503}
    # The API authenticates each request with a token, not this session: 401, not a redirect.
    assert client.get(reverse("api:applications")).status_code == 401
    assert client.get(reverse("api:schema")).status_code == 200
    assert client.post(reverse("logout")).status_code == 200
    assert "_auth_user_id" not in client.session


def test_an_htmx_request_is_sent_to_the_whole_page(client, reviewer):
    client.force_login(reviewer)

    response = client.get(reverse("reviews:queue"), headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(SETUP)


def test_a_form_post_is_refused_until_verified(client, reviewer):
    client.force_login(reviewer)

    response = client.post(reverse("reviews:bulk-assign"), {})

    assert response.status_code == 302
    assert response.url == SETUP


def test_it_is_off_when_the_setting_is_off(client, reviewer, settings):
    settings.AIRLOCK_REQUIRE_2FA = False
    client.force_login(reviewer)

    assert client.get(reverse("reviews:queue")).status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in_first(client, db):
    response = client.get(SETUP)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_two_factor_pages_refuse_other_methods(client, reviewer):
    client.force_login(reviewer)

    assert client.put(SETUP).status_code == 405
    assert client.delete(VERIFY).status_code == 405


def test_verify_without_a_device_goes_to_setup(client, reviewer):
    client.force_login(reviewer)

    response = client.get(VERIFY, {"next": "/reviews/"})

    assert response.url == f"{SETUP}?next=%2Freviews%2F"


# --- Enrolment needs the emailed link, not only the password ---------------------------------


def test_the_password_alone_shows_no_secret_only_where_the_link_went(client, reviewer):
    client.force_login(reviewer)

    response = client.get(SETUP)

    page = response.content.decode()
    assert response.status_code == 200
    assert "r•••@example.test" in page
    assert "<svg" not in page
    assert "totp-secret" not in page
    assert not TOTPDevice.objects.filter(user=reviewer).exists()
    # Nor can a code be confirmed without the link: there is no device to confirm.
    client.post(SETUP, {"token": "123456"})
    assert not TOTPDevice.objects.filter(user=reviewer, confirmed=True).exists()


def test_asking_for_the_link_emails_it_once_a_minute_and_audits_it(
    client, reviewer, django_capture_on_commit_callbacks
):
    client.force_login(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(SETUP, follow=True)
        second = client.post(SETUP, follow=True)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [reviewer.email]
    assert "You asked to set up two-factor sign-in" in mail.outbox[0].body
    assert "We have emailed a set-up link to r•••@example.test" in first.content.decode()
    assert "less than a minute ago" in second.content.decode()
    assert "Check your email" in second.content.decode()
    (event,) = SecurityEvent.objects.filter(user=reviewer)
    assert event.kind == SecurityEventKind.ENROLMENT_SENT
    assert event.actor is None
    # Only the token's hash is stored.
    token = link_in(mail.outbox[0]).rstrip("/").rsplit("/", 1)[1]
    assert not TwoFactorEnrolment.objects.filter(token_sha256__contains=token).exists()


def test_the_link_opens_the_secret_and_is_used_up_by_the_first_code(client, reviewer, enrolled):
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=reviewer)

    response = client.post(SETUP, {"token": code_for(device)})

    assert response.status_code == 302
    enrolment = TwoFactorEnrolment.objects.get(user=reviewer)
    assert enrolment.used_at is not None
    assert SecurityEvent.objects.filter(
        user=reviewer, kind=SecurityEventKind.TWO_FACTOR_SET_UP
    ).exists()
    # Opened again later, the link is refused: it cannot enrol another authenticator.
    client.post(reverse("logout"))
    client.force_login(reviewer)
    TOTPDevice.objects.filter(user=reviewer).delete()
    refused = client.get(enrolled)
    assert refused.status_code == 404
    assert "has expired, has been used already, or belongs to another account" in (
        refused.content.decode()
    )
    assert "totp-secret" not in refused.content.decode()


def test_someone_else_s_link_is_refused(
    client, reviewer, lead_reviewer, django_capture_on_commit_callbacks
):
    client.force_login(lead_reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(SETUP)
    lead_link = link_in(mail.outbox[-1])
    client.force_login(reviewer)

    response = client.get(lead_link)

    page = response.content.decode()
    assert response.status_code == 404
    assert "belongs to another account" in page
    assert "totp-secret" not in page


def test_an_expired_link_is_refused(client, reviewer, django_capture_on_commit_callbacks):
    client.force_login(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(SETUP)
    link = link_in(mail.outbox[-1])
    # Past its TWO_FACTOR_ENROLMENT_HOURS (moving the clock instead would end the session).
    TwoFactorEnrolment.objects.filter(user=reviewer).update(expires_at=timezone.now())

    page = client.get(link).content.decode()

    assert "has expired" in page
    assert "totp-secret" not in page


def test_opening_the_link_signed_out_asks_for_the_password_first(
    client, reviewer, django_capture_on_commit_callbacks
):
    client.force_login(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(SETUP)
    link = link_in(mail.outbox[-1])
    client.post(reverse("logout"))
    path = link.split("testserver", 1)[-1] if "testserver" in link else link[link.index("/acc") :]

    response = client.get(path)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    # A mail scanner fetching the link spends nothing: it still works after signing in.
    client.post(reverse("login"), {"username": reviewer.email, "password": TEST_PASSWORD})
    assert "totp-secret" in client.get(path, follow=True).content.decode()


def test_an_administrator_resets_a_second_factor_audited_and_a_new_link_is_sent(
    client, reviewer, admin_user, confirmed, django_capture_on_commit_callbacks, settings
):
    settings.AIRLOCK_REQUIRE_2FA = False  # the administrator's own second factor is not the point
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:airlock_user_changelist"),
            {"action": "reset_two_factor", "_selected_action": [reviewer.pk]},
            follow=True,
        )

    assert "Two-factor sign-in reset for 1 person" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=reviewer).exists()
    (event,) = SecurityEvent.objects.filter(user=reviewer)
    assert event.kind == SecurityEventKind.TWO_FACTOR_RESET
    assert event.actor == admin_user
    assert "1 authenticator(s) removed" in event.detail
    (message,) = mail.outbox
    assert message.to == [reviewer.email]
    assert f"An administrator ({admin_user}) has reset" in message.body
    # The audit trail cannot be edited or deleted, in the admin or the database.
    change = reverse("admin:airlock_securityevent_change", args=[event.pk])
    assert client.post(change, {"detail": "Nothing happened."}).status_code == 403
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        SecurityEvent.objects.all().delete()


def test_a_session_verified_with_a_reset_device_is_asked_again(
    client, reviewer, admin_user, confirmed
):
    from airlock.two_factor import two_factor_reset

    client.force_login(reviewer)
    client.post(VERIFY, {"token": code_for(confirmed)})
    assert client.get(reverse("reviews:queue")).status_code == 200

    two_factor_reset(user=reviewer, actor=admin_user)

    response = client.get(reverse("reviews:queue"))
    assert response.status_code == 302
    assert response.url.startswith(SETUP)


def test_only_an_administrator_can_reset(reviewer, lead_reviewer):
    from airlock.two_factor import two_factor_reset

    with pytest.raises(PermissionError):
        two_factor_reset(user=reviewer, actor=lead_reviewer)
