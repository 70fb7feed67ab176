"""Selection forms: validation only."""

from django import forms

from airlock.govuk_forms import GovukMessages
from calls.models import SCORE_MAX


class ScoreForm(GovukMessages, forms.Form):
    """A score from 0 to SCORE_MAX for each of the call's selection criteria, and why."""

    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        help_text="Why these scores: it goes on the selection record.",
    )

    def __init__(self, *args, criteria, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = criteria
        for criterion in criteria:
            self.fields[f"criterion_{criterion.pk}"] = forms.TypedChoiceField(
                label=f"{criterion.title} (weight {criterion.weight})",
                help_text=criterion.description,
                choices=[(n, str(n)) for n in range(SCORE_MAX + 1)],
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": f"Select a score for {criterion.title}"},
            )
        # The comment last, after the scores it explains.
        self.order_fields([*(f"criterion_{c.pk}" for c in criteria), "comment"])

    def scores(self) -> dict[str, int]:
        return {str(c.pk): self.cleaned_data[f"criterion_{c.pk}"] for c in self.criteria}


class ModerateForm(GovukMessages, forms.Form):
    total = forms.DecimalField(
        label="Moderated total (%)", min_value=0, max_value=100, decimal_places=1
    )
    note = forms.CharField(
        label="How the disagreement was settled", widget=forms.Textarea(attrs={"rows": 3})
    )


class SelectForm(GovukMessages, forms.Form):
    selected = forms.TypedMultipleChoiceField(
        coerce=int, required=False, widget=forms.CheckboxSelectMultiple, label="Select"
    )
    reason = forms.CharField(
        required=False,
        label="Reason given to the applications not selected",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="They are told their rank and total, and this.",
    )

    def __init__(self, *args, standings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["selected"].choices = [
            (row.application.pk, row.application.reference) for row in standings
        ]
