"""Forms for safety signals (validation only)."""

from django import forms

from reviews.models import SafetySignal, SignalStatus


class SafetySignalForm(forms.ModelForm):
    class Meta:
        model = SafetySignal
        fields = ["severity", "title", "description"]
        labels = {"title": "Summary", "description": "What was seen, and where"}
        widgets = {"description": forms.Textarea(attrs={"rows": 6})}


class SignalStatusForm(forms.Form):
    status = forms.ChoiceField(label="Status", choices=SignalStatus.choices)
