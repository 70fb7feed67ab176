"""Forms for testing plans: the reviewer's draft with its thresholds, and the manufacturer's
agreement or return. They check what people typed; reviews.plans decides what may happen, and
shares its date rules with these forms so both say the same thing."""

from decimal import Decimal

from django import forms

from airlock.date_input import GovukDateInput
from airlock.formsets import SafeFormSet
from airlock.govuk_forms import GovukMessages
from reviews.models import (
    PROTOCOL_CHANGE_KINDS,
    Comparator,
    JudgedOn,
    Metric,
    PlanVersion,
    TestingPlan,
)
from reviews.plan_terms import (
    PLAN_FIELDS,
    PlanDetails,
    ThresholdSpec,
    plan_dates_problems,
    threshold_problem,
)


def decimal_text(value: Decimal | None) -> str:
    """A decimal as people write it: 0.9, not 0.9000 (nor 1E+1 for ten)."""
    if value is None:
        return ""
    return format(Decimal(value).normalize(), "f")


# The trend settings a testing plan and a post-clearance monitoring plan both hold, drawn
# alike on both forms. Each call makes a new field: a field object belongs to one form class.
def _trend_setting(name: str, label: str, least: Decimal, default: str = "") -> forms.Field:
    help_text = PlanVersion._meta.get_field(name).help_text
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=least,
        max_value=1,
        max_digits=5,
        decimal_places=4,
        help_text=f"{help_text} Default {default}." if default else help_text,
    )


def equity_gap_limit_field() -> forms.Field:
    return _trend_setting("equity_gap_limit", "Largest gap between subgroups", Decimal("0.0001"))


def drift_slack_field() -> forms.Field:
    return _trend_setting("drift_slack", "Drift detection: slack", Decimal(0), "0.01")


def drift_limit_field() -> forms.Field:
    return _trend_setting(
        "drift_limit", "Drift detection: warning limit", Decimal("0.0001"), "0.03"
    )


class PlanVersionForm(GovukMessages, forms.ModelForm):
    # Optional: a plan drafted without it judges any sample, as plans did before it existed.
    min_sample = forms.IntegerField(
        label="Minimum sample per checkpoint",
        required=False,
        min_value=0,
        max_value=1_000_000,
        help_text=PlanVersion._meta.get_field("min_sample").help_text,
        error_messages={
            "min_value": "The minimum sample cannot be negative.",
            "max_value": "That is more cases than a checkpoint can hold: check the number.",
            "invalid": "Give the minimum sample as a whole number, such as 50.",
        },
    )
    allowed_change_kinds = forms.MultipleChoiceField(
        label="Model changes allowed under the change protocol",
        required=False,
        choices=[(kind.value, kind.label) for kind in PROTOCOL_CHANGE_KINDS],
        widget=forms.CheckboxSelectMultiple,
        help_text="For an adaptive device: the kinds of change its predetermined change "
        "control plan allows. A changed model must also meet every threshold below, judged on "
        "its validation figures' 95% interval. A new input type or intended use is never "
        "within a protocol.",
    )
    # Optional, with the defaults reviews.statistics explains (a slide of two points a
    # checkpoint from 0.95 warns at 0.91); equity has no limit unless one is set.
    equity_gap_limit = equity_gap_limit_field()
    drift_slack = drift_slack_field()
    drift_limit = drift_limit_field()
    cadence_days = forms.IntegerField(
        label="Days between checkpoints",
        min_value=1,
        max_value=365,
        initial=28,
        error_messages={
            "min_value": "Checkpoints need at least one day between them.",
            "max_value": "Checkpoints can be at most a year (365 days) apart.",
        },
    )

    class Meta:
        model = PlanVersion
        fields = list(PLAN_FIELDS)
        labels = {
            "starts_on": "Testing starts on",
            "ends_on": "Testing ends on",
            "suspend_on_critical_breach": "Suspend testing automatically on a critical breach",
        }
        widgets = {
            "starts_on": GovukDateInput(),
            "ends_on": GovukDateInput(),
            "nhs_sites": forms.Textarea(attrs={"rows": 3}),
            "change_evidence": forms.Textarea(attrs={"rows": 3}),
            "required_subgroups": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"nhs_sites": "One a line."}
        error_messages = {
            "starts_on": {"required": "Enter the date testing starts"},
            "ends_on": {"required": "Enter the date testing ends"},
        }

    def __init__(self, *args, in_force: TestingPlan | None, testing_began: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.in_force = in_force
        self.testing_began = testing_began
        if testing_began and in_force is not None:
            self.fields["starts_on"].help_text = "Testing has begun: the start date is fixed."

    def clean_min_sample(self) -> int:
        return self.cleaned_data["min_sample"] or 0

    def clean_drift_slack(self) -> Decimal:
        value = self.cleaned_data["drift_slack"]
        return Decimal("0.01") if value is None else value

    def clean_drift_limit(self) -> Decimal:
        return self.cleaned_data["drift_limit"] or Decimal("0.03")

    def clean(self):
        data = super().clean()
        starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
        if starts_on and ends_on:
            problems = plan_dates_problems(
                starts_on=starts_on,
                ends_on=ends_on,
                in_force=self.in_force,
                testing_began=self.testing_began,
            )
            for field, problem in problems.items():
                self.add_error(field, problem)
        return data

    def _post_clean(self):
        # The model's own validation would run its check constraints on a half-built version;
        # the service checks the whole plan instead.
        pass


def _any(label: str, choices) -> list[tuple[str, str]]:
    return [("", label), *choices]


NEGATIVE = "A threshold cannot be negative."


class DefaultedChoiceField(forms.ChoiceField):
    """A choice that falls back to its initial value when not sent, and is not a change to
    a spare row either way (a client written before the field existed sends nothing)."""

    def has_changed(self, initial, data) -> bool:
        return data not in (None, "") and super().has_changed(initial, data)

    def clean(self, value):
        return super().clean(value) or self.initial


class MetricThresholdForm(GovukMessages, forms.Form):
    metric = forms.ChoiceField(label="Metric", choices=_any("Choose a metric", Metric.choices))
    # The initial value is what the select shows by default, so a spare row left alone
    # counts as untouched.
    comparator = forms.ChoiceField(
        label="Must be", choices=Comparator.choices, initial=Comparator.AT_LEAST
    )
    value = forms.DecimalField(
        label="Threshold",
        max_digits=6,
        decimal_places=4,
        min_value=0,
        error_messages={"min_value": NEGATIVE},
    )
    critical_value = forms.DecimalField(
        label="Critical value",
        max_digits=6,
        decimal_places=4,
        min_value=0,
        required=False,
        error_messages={"min_value": NEGATIVE},
    )
    judged_on = DefaultedChoiceField(
        label="Judged on",
        choices=JudgedOn.choices,
        initial=JudgedOn.ESTIMATE,
        required=False,
        help_text="On its 95% confidence interval, a minimum is met only when the interval's "
        "lower bound reaches it (proportions of cases only).",
    )

    def clean(self):
        data = super().clean()
        if {"metric", "comparator", "value"} <= data.keys():
            problem = threshold_problem(
                metric=data["metric"],
                comparator=data["comparator"],
                value=data["value"],
                critical_value=data.get("critical_value"),
                judged_on=data.get("judged_on", JudgedOn.ESTIMATE),
            )
            if problem:
                self.add_error(*problem)
        return data


class BaseThresholdFormSet(SafeFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = "Remove this threshold"

    def _kept(self) -> list[forms.Form]:
        # Spare rows left blank have no cleaned data; removed rows are ticked for deletion.
        return [
            form
            for form in self.forms
            if form.cleaned_data.get("metric") and not self._should_delete_form(form)
        ]

    def clean(self):
        if any(self.errors):
            return
        kept = self._kept()
        if not kept:
            raise forms.ValidationError("Set at least one metric threshold.")
        metrics = [form.cleaned_data["metric"] for form in kept]
        if len(metrics) != len(set(metrics)):
            raise forms.ValidationError("Set each metric's threshold once.")

    def thresholds(self) -> list[ThresholdSpec]:
        return [
            ThresholdSpec(
                metric=form.cleaned_data["metric"],
                comparator=form.cleaned_data["comparator"],
                value=form.cleaned_data["value"],
                critical_value=form.cleaned_data.get("critical_value"),
                judged_on=form.cleaned_data["judged_on"],
            )
            for form in self._kept()
        ]


# absolute_max: a tampered TOTAL_FORMS is refused beyond this many rows; Django's default cap
# (max_num + 1000) would build, validate and draw a thousand forms for one request.
ThresholdFormSet = forms.formset_factory(
    MetricThresholdForm,
    formset=BaseThresholdFormSet,
    extra=2,
    can_delete=True,
    max_num=20,
    absolute_max=20,
)


def plan_details(form: PlanVersionForm, formset: BaseThresholdFormSet) -> PlanDetails:
    data = form.cleaned_data
    return PlanDetails(
        **{name: data[name] for name in PLAN_FIELDS},
        thresholds=formset.thresholds(),
    )


def threshold_initial(thresholds) -> list[dict]:
    return [
        {
            "metric": t.metric,
            "comparator": t.comparator,
            "value": decimal_text(t.value),
            "critical_value": decimal_text(t.critical_value),
            "judged_on": t.judged_on,
        }
        for t in thresholds
    ]


class WithdrawAmendmentForm(GovukMessages, forms.Form):
    reason = forms.CharField(
        label="Why withdraw this amendment?",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text="The plan in force stays as it is. The reason goes on the case record.",
        error_messages={"required": "Say why the amendment is withdrawn."},
    )


# --- The manufacturer's side ------------------------------------------------------------------


class _VersionShown(GovukMessages, forms.Form):
    """The version and revision the page showed, so an agreement cannot land on terms the
    regulator changed meanwhile."""

    number = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=32767)
    revision = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)
    expected_state = forms.CharField(widget=forms.HiddenInput, max_length=30)


class AgreePlanForm(_VersionShown):
    confirm = forms.BooleanField(
        label="I agree this testing plan on behalf of my organisation",
        error_messages={"required": "Tick the box to agree the plan, or return it with comments."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="agree", **kwargs)


class ReturnPlanForm(_VersionShown):
    comments = forms.CharField(
        label="What should change?",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        help_text="The regulator reads these, revises the plan and sends it again.",
        error_messages={"required": "Say what should change before returning the plan."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="return", **kwargs)
