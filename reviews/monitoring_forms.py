"""Forms for safety signals and model change decisions (validation only)."""

from django import forms

from airlock.govuk_forms import GovukMessages
from reviews.models import ChangeDecision, SafetySignal, SignalStatus


class SafetySignalForm(GovukMessages, forms.ModelForm):
    class Meta:
        model = SafetySignal
        fields = ["severity", "title", "description"]
        labels = {"title": "Summary", "description": "What was seen, and where"}
        widgets = {"description": forms.Textarea(attrs={"rows": 6})}


class SignalStatusForm(GovukMessages, forms.Form):
    """Investigating, closing (with a written resolution) or reopening a signal."""

    status = forms.ChoiceField(label="Status", choices=SignalStatus.choices)
    findings = forms.CharField(
        label="What was found",
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed to close the signal: what the investigation found.",
    )
    actions = forms.CharField(
        label="What was done",
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed to close the signal: what was done about it, and by whom.",
    )

    def clean(self):
        data = super().clean()
        if data.get("status") == SignalStatus.CLOSED:
            if not data.get("findings", "").strip():
                self.add_error("findings", "Say what was found before closing the signal.")
            if not data.get("actions", "").strip():
                self.add_error("actions", "Say what was done before closing the signal.")
        return data


class ModelChangeDecisionForm(GovukMessages, forms.Form):
    decision = forms.ChoiceField(
        label="Decision", choices=ChangeDecision.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=20_000,
        help_text="It goes on the case record and to the manufacturer.",
    )

    def __init__(self, *args, decisions: list[str], **kwargs):
        """`decisions`: those open on this case (reviews.model_changes.decisions_open), so a
        decision the service would refuse is never offered."""
        super().__init__(*args, **kwargs)
        self.fields["decision"].choices = [
            (value, label) for value, label in ChangeDecision.choices if value in decisions
        ]
