"""Team forms: validation only."""

from django import forms
from django.contrib.auth.password_validation import validate_password

from airlock.govuk_forms import GovukMessages
from airlock.models import PLAIN_EMAIL_MESSAGE, canonical_email, is_plain_email
from devices.models import OrganisationRole
from teams.api_keys import MAX_DAYS
from teams.models import ApiKeyScope
from teams.signup import (
    COMPANY_NUMBER_MESSAGE,
    company_number_clean,
    organisation_taken,
)


class InviteForm(GovukMessages, forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        help_text="We email them a link to join; it works for one person, once.",
    )
    role = forms.ChoiceField(
        choices=OrganisationRole.choices,
        initial=OrganisationRole.CONTRIBUTOR,
        widget=forms.RadioSelect,
    )


class RoleForm(GovukMessages, forms.Form):
    role = forms.ChoiceField(choices=OrganisationRole.choices, label="New role")


class NewAccountForm(GovukMessages, forms.Form):
    """The name and password for an account made from an invitation or at sign-up."""

    full_name = forms.CharField(label="Full name", max_length=150)
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters; not a common password, not all digits.",
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords do not match.")
        elif first:
            try:
                validate_password(first)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class ApiKeyForm(GovukMessages, forms.Form):
    name = forms.CharField(
        max_length=100, help_text="The system that will use it, e.g. “Monitoring service”."
    )
    scope = forms.ChoiceField(
        choices=ApiKeyScope.choices, initial=ApiKeyScope.READ, widget=forms.RadioSelect
    )
    expires_in_days = forms.IntegerField(
        label="Expires after (days)",
        min_value=1,
        max_value=MAX_DAYS,
        initial=90,
        help_text=f"Between 1 and {MAX_DAYS} days. Make a new key before this one expires.",
    )


class SignUpForm(NewAccountForm):
    """A person and their organisation, registering."""

    field_order = [
        "email",
        "full_name",
        "password1",
        "password2",
        "organisation_name",
        "companies_house_number",
    ]

    email = forms.EmailField(
        label="Email address",
        max_length=254,
        help_text="We send a link to this address to confirm it is yours.",
    )
    organisation_name = forms.CharField(
        label="Organisation name", max_length=200, help_text="The company's registered name."
    )
    companies_house_number = forms.CharField(
        label="Companies House number",
        max_length=20,
        help_text="8 characters, for example 01234567 or SC123456.",
    )

    def clean_email(self) -> str:
        typed = self.data.get(self.add_prefix("email")) or ""
        if not is_plain_email(typed.strip()):
            raise forms.ValidationError(PLAIN_EMAIL_MESSAGE)
        return canonical_email(self.cleaned_data["email"])

    def clean_companies_house_number(self) -> str:
        number = company_number_clean(self.cleaned_data["companies_house_number"])
        if number is None:
            raise forms.ValidationError(COMPANY_NUMBER_MESSAGE)
        return number

    def clean(self) -> dict:
        cleaned = super().clean()
        name, number = cleaned.get("organisation_name"), cleaned.get("companies_house_number")
        if name and number:
            self.taken = organisation_taken(name=name, companies_house_number=number)
            if self.taken is not None:
                self.add_error(
                    "organisation_name",
                    f"{self.taken} is registered on Airlock already. Ask its administrator "
                    "to invite you, or ask to join it below.",
                )
        return cleaned


class JoinRequestForm(GovukMessages, forms.Form):
    """Asking to join a registered organisation: who, and which organisation (looked up
    again from its name and number, never an id from the page)."""

    email = forms.EmailField(label="Your email address", max_length=254)
    full_name = forms.CharField(label="Your full name", max_length=150)
    organisation_name = forms.CharField(label="Organisation name", max_length=200)
    companies_house_number = forms.CharField(label="Companies House number", max_length=20)

    def clean_email(self) -> str:
        typed = self.data.get(self.add_prefix("email")) or ""
        if not is_plain_email(typed.strip()):
            raise forms.ValidationError(PLAIN_EMAIL_MESSAGE)
        return canonical_email(self.cleaned_data["email"])
