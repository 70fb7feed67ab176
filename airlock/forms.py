"""Forms for signing in: validation only."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django_otp.plugins.otp_totp.models import TOTPDevice

from airlock import two_factor
from airlock.models import PLAIN_EMAIL_MESSAGE, canonical_email, is_plain_email


def _canonical_address(value: str) -> str:
    """The typed address in its canonical spelling, or a field error for a spelling that
    could pass for someone else's (a dotless i for i, a long s for s, a Kelvin sign for k,
    a zero-width space): such a spelling never reaches authentication, so it neither signs
    anyone in nor opens a fresh count of failures beside the real address's."""
    # Judged before lower-casing: Python's lower() turns a Kelvin sign into a plain k.
    if not is_plain_email(value.strip()):
        raise forms.ValidationError(PLAIN_EMAIL_MESSAGE, code="not_plain")
    return canonical_email(value)


class CanonicalUsernameMixin:
    """For Django's sign-in forms, whose `username` is our email address."""

    def clean_username(self) -> str:
        # Judged as typed: Django's username field has already applied NFKC, which turns a
        # long s, a Kelvin sign or fullwidth letters into plain ones.
        return _canonical_address(self.data.get(self.add_prefix("username")) or "")


class SignInForm(CanonicalUsernameMixin, AuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Messages that say what to do (the GOV.UK style), not "This field is required."
        self.fields["username"].error_messages["required"] = "Enter your email address"
        self.fields["password"].error_messages["required"] = "Enter your password"


class AdminSignInForm(CanonicalUsernameMixin, AdminAuthenticationForm):
    pass


class ResetPasswordForm(PasswordResetForm):
    def clean_email(self) -> str:
        return _canonical_address(self.cleaned_data["email"])


class TokenForm(forms.Form):
    """A six-digit code for one TOTP device. Whether it matches is the view's call to make,
    because checking a code changes the device (a used code can never be used again)."""

    token = forms.CharField(
        label="6-digit code",
        max_length=20,
        help_text="The code your authenticator app shows for Airlock. It changes every 30 seconds.",
        error_messages={"required": "Enter the 6-digit code from your authenticator app."},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "class": "token-input",
            }
        ),
    )

    def __init__(self, *args, device: TOTPDevice, **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_token(self) -> str:
        # People copy codes with spaces ("123 456"); the app's grouping is not part of it.
        token = "".join(self.cleaned_data["token"].split())
        if not two_factor.TOKEN_PATTERN.match(token):
            raise forms.ValidationError("Enter the 6 digits of the code, with no letters.")
        wait = two_factor.throttle_seconds(self.device)
        if wait:
            raise forms.ValidationError(
                f"Too many wrong codes in a row. Wait {wait} second{'s' if wait != 1 else ''}, "
                "then enter the code your app shows at that moment."
            )
        return token
