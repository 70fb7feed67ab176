"""Forms for post-clearance monitoring: the lead reviewer's plan (with the testing plan's
threshold rows) and the reason for ending it early. They check what people typed; the
services decide, with the same date rules (postclearance.services)."""

from decimal import Decimal

from django import forms

from airlock.date_input import GovukDateField
from airlock.govuk_forms import GovukMessages
from postclearance.services import MonitoringTerms, monitoring_dates_problems
from reviews.models import MIN_SAMPLE_HELP, TestingPlan
from reviews.plan_forms import (
    BaseThresholdFormSet,
    drift_limit_field,
    drift_slack_field,
    equity_gap_limit_field,
)


def _help(name: str) -> str:
    return TestingPlan._meta.get_field(name).help_text


class MonitoringPlanForm(GovukMessages, forms.Form):
    starts_on = GovukDateField(
        label="Monitoring starts on",
        error_messages={"required": "Enter the date monitoring starts"},
    )
    ends_on = GovukDateField(
        label="Monitoring ends on", error_messages={"required": "Enter the date monitoring ends"}
    )
    cadence_days = forms.IntegerField(
        label="Days between checkpoints",
        min_value=1,
        max_value=365,
        initial=90,
        error_messages={
            "min_value": "Checkpoints need at least one day between them.",
            "max_value": "Checkpoints can be at most a year (365 days) apart.",
        },
    )
    min_sample = forms.IntegerField(
        label="Minimum sample per checkpoint",
        required=False,
        min_value=0,
        max_value=1_000_000,
        help_text=MIN_SAMPLE_HELP,
    )
    required_subgroups = forms.CharField(
        label="Required subgroups",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_help("required_subgroups"),
    )
    equity_gap_limit = equity_gap_limit_field()
    drift_slack = drift_slack_field()
    drift_limit = drift_limit_field()
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean(self):
        data = super().clean()
        starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
        if starts_on and ends_on:
            for field, problem in monitoring_dates_problems(
                starts_on=starts_on, ends_on=ends_on
            ).items():
                self.add_error(field, problem)
        return data

    def terms(self, formset: BaseThresholdFormSet) -> MonitoringTerms:
        data = self.cleaned_data
        return MonitoringTerms(
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            cadence_days=data["cadence_days"],
            thresholds=formset.thresholds(),
            min_sample=data["min_sample"] or 0,
            required_subgroups=data["required_subgroups"],
            equity_gap_limit=data["equity_gap_limit"],
            drift_slack=Decimal("0.01") if data["drift_slack"] is None else data["drift_slack"],
            drift_limit=data["drift_limit"] or Decimal("0.03"),
            notes=data["notes"],
        )


class EndMonitoringForm(GovukMessages, forms.Form):
    reason = forms.CharField(
        label="Why does monitoring end early?",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        help_text="The manufacturer sees this reason; it is kept on the case timeline.",
        error_messages={"required": "Say why monitoring ends early."},
    )
