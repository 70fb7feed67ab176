"""The manufacturer's notice of a change to the model (validation only)."""

from django import forms
from django.core.exceptions import ValidationError

from airlock.date_input import GovukDateField
from airlock.govuk_forms import GovukMessages
from devices.testing_forms import parse_subgroup_lines
from reviews.models import ChangeKind


def parse_figure_lines(text: str) -> dict:
    """ "metric, value" lines ("sensitivity, 0.93" or "sensitivity, 140/150") into figures."""
    lines = [f"model, {line}" if line.strip() else "" for line in text.splitlines()]
    return parse_subgroup_lines("\n".join(lines)).get("model", {})


class ModelChangeForm(GovukMessages, forms.Form):
    kind = forms.ChoiceField(
        label="Kind of change", choices=[("", "Choose the kind of change"), *ChangeKind.choices]
    )
    version_label = forms.CharField(label="New version", max_length=50)
    released_on = GovukDateField(label="In use from")
    description = forms.CharField(
        label="What changed", widget=forms.Textarea(attrs={"rows": 4}), max_length=20_000
    )
    training_data_summary = forms.CharField(
        label="Training data",
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Sources, size, dates and demographics of any new training data.",
    )
    sha256 = forms.CharField(
        label="SHA-256 of the model artefact or manifest",
        required=False,
        max_length=64,
        help_text="Optional: 64 hexadecimal characters.",
    )
    validation_figures = forms.CharField(
        label="Validation figures of the changed model",
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One a line: metric, counts or figure — for example “sensitivity, 470/500” "
        "or “auroc, 0.94”. Every metric the plan sets a threshold for is needed.",
    )

    def __init__(self, *args, evidence_items: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.evidence_items = evidence_items
        for number, item in enumerate(evidence_items):
            self.fields[f"evidence_{number}"] = forms.CharField(
                label=f"Evidence: {item}",
                required=False,
                max_length=2000,
                help_text="Where it is (an evidence document, a reference) or what it shows.",
            )

    def clean_validation_figures(self) -> dict:
        try:
            return parse_figure_lines(self.cleaned_data["validation_figures"])
        except ValidationError as exc:
            raise ValidationError(
                [message.replace("subgroup, ", "") for message in exc.messages]
            ) from None

    def evidence(self) -> dict[str, str]:
        return {
            item: self.cleaned_data.get(f"evidence_{number}", "")
            for number, item in enumerate(self.evidence_items)
        }
