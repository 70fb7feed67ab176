"""Forms for signing in: validation only."""

from django import forms
from django_otp.plugins.otp_totp.models import TOTPDevice

from airlock import two_factor


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
