from django import forms

from airlock.govuk_forms import GovukMessages
from observers.services import observers


class GrantForm(GovukMessages, forms.Form):
    observer = forms.ModelChoiceField(queryset=None, empty_label="Choose an observer")
    evidence = forms.BooleanField(
        required=False,
        label="Let them read the evidence too",
        help_text="Without this, they see the case's summary and history of states only.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["observer"].queryset = observers()


class ObserverInviteForm(GovukMessages, forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        help_text="We email them a link to make their account; it works for one person, once.",
    )
    body = forms.CharField(
        label="Organisation",
        max_length=200,
        help_text="The NHS organisation or partner body they observe for, for example "
        "“NHS England” or “NICE”.",
    )
