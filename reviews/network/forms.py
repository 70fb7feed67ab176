"""Forms for answering a partner's alert and retracting one of ours (validation only)."""

from django import forms

from airlock.govuk_forms import GovukMessages
from reviews.network.models import ActionCategory, Assessment, ReceiptKind


class ReceiptForm(GovukMessages, forms.Form):
    kind = forms.ChoiceField(
        label="What are you telling them?",
        choices=[
            (ReceiptKind.TRIAGED, "We have triaged it"),
            (ReceiptKind.ACTION_TAKEN, "We have taken action"),
        ],
        widget=forms.RadioSelect,
    )
    assessment = forms.ChoiceField(
        label="Our assessment",
        choices=[("", "Choose…"), *Assessment.choices],
        required=False,
        help_text="Needed for a triage.",
    )
    action_category = forms.ChoiceField(
        label="Kind of action",
        choices=[("", "Choose…"), *ActionCategory.choices],
        required=False,
        help_text="Needed for an action.",
    )
    note = forms.CharField(
        label="Note for the partner",
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed for an action: what was done. The partner reads this.",
    )


class RetractForm(GovukMessages, forms.Form):
    reason = forms.CharField(
        label="Why is the alert retracted?",
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Partners receive this with the retraction.",
    )
