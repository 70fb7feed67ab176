import base64
import re

from django.core import mail
from django_otp.oath import totp

from tests.e2e.conftest import login
from tests.factories import TEST_PASSWORD


def _code(secret: str, *, steps_ahead: int = 0) -> str:
    key = base64.b32decode(secret.replace(" ", ""))
    # t0 shifted back by whole steps gives the code an authenticator will show that much later.
    return f"{totp(key, t0=-30 * steps_ahead):06d}"


def test_a_reviewer_sets_up_an_authenticator_then_signs_in_with_it(
    page, screenshot, reviewer, settings
):
    settings.AIRLOCK_REQUIRE_2FA = True
    csp_errors = []

    def watch(message):
        if "Content Security Policy" in message.text:
            csp_errors.append(message.text)

    page.on("console", watch)

    login(page, reviewer.email, TEST_PASSWORD)
    page.get_by_role("heading", name="Set up two-factor sign-in").wait_for()
    # The password alone shows no secret: the person asks for a one-time link by email.
    assert page.locator("#totp-secret").count() == 0
    page.get_by_role("button", name="Email me a set-up link").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    screenshot("link-sent")
    (message,) = mail.outbox
    path = re.search(r"/accounts/two-factor/enrol/\S+/", message.body).group(0)
    page.goto(path)
    assert page.get_by_role("img", name="QR code for your authenticator app").is_visible()
    secret = page.locator("#totp-secret code").inner_text()
    screenshot("setup")

    page.get_by_label("6-digit code").fill("12345")
    page.get_by_role("button", name="Confirm and continue").click()
    page.get_by_role("alert").get_by_text("There is a problem").wait_for()
    assert page.get_by_text("Enter the 6 digits of the code, with no letters.").first.is_visible()
    screenshot("error")

    page.get_by_label("6-digit code").fill(_code(secret))
    page.get_by_role("button", name="Confirm and continue").click()
    page.get_by_role("heading", name="My work").wait_for()
    assert page.get_by_text("Two-factor sign-in is set up").is_visible()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="You have signed out").wait_for()
    login(page, reviewer.email, TEST_PASSWORD)
    page.get_by_role("heading", name="Enter your sign-in code").wait_for()
    screenshot("verify")
    # The code just used cannot be used twice; the app's next code is accepted a step early.
    page.get_by_label("6-digit code").fill(_code(secret, steps_ahead=1))
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="My work").wait_for()

    assert csp_errors == []
