"""Forms for what a manufacturer reports during controlled testing (validation only)."""

from django import forms
from django.core.exceptions import ValidationError

from airlock.date_input import GovukDateInput
from airlock.govuk_forms import GovukMessages
from devices.models import IncidentReport
from reviews.judging import COUNT_METRICS, COUNT_WORDS, MAX_TRIALS
from reviews.models import Metric
from reviews.monitoring.reports import (
    METRIC_RANGES,
    PROPORTION,
    metric_range_message,
    report_figures_clean,
)

METRIC_FIELD_PREFIX = "metric_"
SUCCESSES_PREFIX = "successes_"
TRIALS_PREFIX = "trials_"
_METRIC_NAMES = {**{m.value: m.value for m in Metric}, **{m.label.lower(): m.value for m in Metric}}


def _in_sentence(label: str) -> str:
    """ "Sensitivity" -> "sensitivity", but "AUROC" stays as it is."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def _metric_field(metric: Metric, *, required: bool) -> forms.DecimalField:
    low, high = METRIC_RANGES.get(metric, PROPORTION)
    out_of_range = metric_range_message(metric)
    counted = metric in COUNT_METRICS
    help_text = f"Between {low} and {high}."
    if counted:
        help_text = f"A proportion between {low} and {high}; or leave it and give the counts."
    return forms.DecimalField(
        label=metric.label,
        # A proportion's counts can stand in for it: the form checks it is there in clean().
        required=required and not counted,
        min_value=low,
        max_value=high,
        max_digits=6,
        decimal_places=4,
        error_messages={
            "min_value": out_of_range,
            "max_value": out_of_range,
            "invalid": f"{metric.label} must be a number, such as 0.92.",
            "max_digits": f"{metric.label} can have at most 4 decimal places.",
            "max_decimal_places": f"{metric.label} can have at most 4 decimal places.",
            "max_whole_digits": out_of_range,
            "required": f"Enter the {_in_sentence(metric.label)}: the testing plan sets a "
            "threshold for it.",
        },
        help_text=help_text + (" Required: the testing plan sets a threshold." if required else ""),
        widget=forms.NumberInput(attrs={"step": "0.0001", "inputmode": "decimal"}),
    )


def _count_field(label: str, what: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=0,
        max_value=MAX_TRIALS,
        error_messages={
            "min_value": f"The number of {what} cannot be negative.",
            "max_value": f"That is more {what} than any site sees: check the number.",
            "invalid": f"Give the number of {what} as a whole number.",
        },
    )


def _count_fields(metric: Metric) -> dict[str, forms.IntegerField]:
    numerator, denominator = COUNT_WORDS[metric]
    return {
        f"{SUCCESSES_PREFIX}{metric.value}": _count_field(
            f"{metric.label}: {numerator}", numerator
        ),
        f"{TRIALS_PREFIX}{metric.value}": _count_field(
            f"{metric.label}: {denominator}", denominator
        ),
    }


def _subgroup_figure(value: str) -> str | dict[str, str]:
    """ "0.88" stays a figure; "44/50" is counts: 44 successes of 50 trials."""
    successes, slash, trials = value.partition("/")
    if slash:
        return {"successes": successes.strip(), "trials": trials.strip()}
    return value


def parse_subgroup_lines(text: str) -> dict[str, dict]:
    """Read "subgroup, metric, value" lines into {subgroup: {metric: value}}; a value written
    as "44/50" is counts (44 of 50).

    The subgroup is everything before the last two commas, so names like "age 65+, female"
    work. Raises ValidationError naming the line that could not be read.
    """
    figures: dict[str, dict[str, str]] = {}
    errors = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.rsplit(",", 2)]
        if len(parts) != 3 or not parts[0]:
            errors.append(f"Line {number}: write “subgroup, metric, value”.")
            continue
        subgroup, metric_name, value = parts
        metric = _METRIC_NAMES.get(metric_name.lower())
        if metric is None:
            errors.append(f"Line {number}: “{metric_name}” is not a metric Airlock records.")
            continue
        figures.setdefault(subgroup, {})[metric] = _subgroup_figure(value)
    if errors:
        raise ValidationError(errors)
    return figures


class CheckpointReportForm(GovukMessages, forms.Form):
    cases_processed = forms.IntegerField(
        label="Cases processed in this period",
        min_value=0,
        max_value=100_000_000,
        error_messages={
            "min_value": "The number of cases cannot be negative.",
            "max_value": "That is more cases than any site processes: check the number.",
            "invalid": "Give the number of cases as a whole number, such as 640.",
        },
    )
    subgroup_figures = forms.CharField(
        label="Subgroup figures",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Optional. One figure a line: subgroup, metric, value — for example "
        "“age 65+, sensitivity, 0.88” — or the counts, as in “age 65+, sensitivity, 44/50”.",
    )
    incidents_count = forms.IntegerField(
        label="Incidents in this period",
        min_value=0,
        max_value=100_000,
        initial=0,
        error_messages={
            "min_value": "The number of incidents cannot be negative.",
            "max_value": "That is more incidents than a period can hold: check the number.",
            "invalid": "Give the number of incidents as a whole number, such as 0.",
        },
        help_text="Report each serious incident separately as well, within its statutory time.",
    )
    narrative = forms.CharField(
        label="Narrative",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What happened in this period: changes, problems, anything unexpected.",
    )

    def __init__(self, *args, required_metrics: list[str], model_versions=(), **kwargs):
        super().__init__(*args, **kwargs)
        # The version in use first: the figures are about it unless the reporter says not.
        self.fields["model_version"] = forms.ChoiceField(
            label="Model version these figures are about",
            choices=[(label, label) for label in model_versions],
            required=False,
            help_text="The version in use is chosen; change it if the period ran on another.",
        )
        self.required_metrics = [m for m in Metric if m in required_metrics]
        self.optional_metrics = [m for m in Metric if m not in required_metrics]
        metric_fields = {}
        for metric in [*self.required_metrics, *self.optional_metrics]:
            metric_fields[f"{METRIC_FIELD_PREFIX}{metric.value}"] = _metric_field(
                metric, required=metric in self.required_metrics
            )
            if metric in COUNT_METRICS:
                metric_fields |= _count_fields(metric)
        # Figures first, in the order a person reads the form.
        self.fields = (
            {"cases_processed": self.fields["cases_processed"]}
            | metric_fields
            | {name: field for name, field in self.fields.items() if name != "cases_processed"}
        )

    def _fields_of(self, metric: Metric) -> list:
        names = [f"{METRIC_FIELD_PREFIX}{metric.value}"]
        if metric in COUNT_METRICS:
            names += [f"{SUCCESSES_PREFIX}{metric.value}", f"{TRIALS_PREFIX}{metric.value}"]
        return [self[name] for name in names]

    def required_metric_fields(self):
        return [field for m in self.required_metrics for field in self._fields_of(m)]

    def optional_metric_fields(self):
        return [field for m in self.optional_metrics for field in self._fields_of(m)]

    def optional_metrics_in_use(self) -> bool:
        """Keep the optional metrics open when the person filled one in or got an error there."""
        return any(field.errors or field.value() for field in self.optional_metric_fields())

    def clean_subgroup_figures(self) -> dict:
        figures = parse_subgroup_lines(self.cleaned_data["subgroup_figures"])
        try:
            report_figures_clean(metrics={}, subgroup_metrics=figures, required=[])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["subgroup_metrics"]) from None
        return figures

    def clean(self):
        """A proportion is given as counts (successes and trials), or as a figure with or
        without its trials; a required metric needs one or the other."""
        data = super().clean()
        for metric in COUNT_METRICS:
            name = f"{METRIC_FIELD_PREFIX}{metric}"
            if name not in self.fields:
                continue
            value = data.get(name)
            successes = data.get(f"{SUCCESSES_PREFIX}{metric}")
            trials = data.get(f"{TRIALS_PREFIX}{metric}")
            numerator, denominator = COUNT_WORDS[metric]
            if successes is not None and trials is None:
                self.add_error(
                    f"{TRIALS_PREFIX}{metric}",
                    f"Give the number of {denominator} the {numerator} are out of.",
                )
            elif successes is not None and value is not None:
                self.add_error(
                    name,
                    f"Give {_in_sentence(Metric(metric).label)} as counts or as a figure, "
                    "not both.",
                )
            elif trials is not None and successes is None and value is None:
                self.add_error(
                    name, f"Give the {_in_sentence(Metric(metric).label)} or the {numerator}."
                )
            elif (
                metric in self.required_metrics
                and value is None
                and successes is None
                and name not in self.errors
            ):
                self.add_error(
                    name,
                    f"Enter the {_in_sentence(Metric(metric).label)} or its counts: the "
                    "testing plan sets a threshold for it.",
                )
        return data

    def metrics(self) -> dict[str, object]:
        """What the service takes: a figure, or {"successes", "trials"} counts, or
        {"value", "trials"} — a figure with its denominator."""
        data = self.cleaned_data
        figures: dict[str, object] = {}
        for metric in Metric:
            value = data.get(f"{METRIC_FIELD_PREFIX}{metric}")
            successes = data.get(f"{SUCCESSES_PREFIX}{metric}")
            trials = data.get(f"{TRIALS_PREFIX}{metric}")
            if successes is not None and trials is not None:
                figures[metric.value] = {"successes": successes, "trials": trials}
            elif value is not None and trials is not None:
                figures[metric.value] = {"value": str(value), "trials": trials}
            elif value is not None:
                figures[metric.value] = str(value)
        return figures


class IncidentReportForm(GovukMessages, forms.ModelForm):
    class Meta:
        model = IncidentReport
        fields = ["severity", "occurred_on", "aware_on", "description", "actions_taken"]
        labels = {
            "severity": "What kind of serious incident",
            "occurred_on": "Date of the incident",
            "aware_on": "Date you became aware of it",
            "description": "What happened",
            "actions_taken": "Actions taken so far",
        }
        help_texts = {
            "severity": "The statutory reporting time runs from when you became aware: 2 days "
            "for a serious public health threat, 10 days for a death or unanticipated serious "
            "deterioration, 15 days for other serious incidents.",
        }
        widgets = {
            "occurred_on": GovukDateInput(),
            "aware_on": GovukDateInput(),
            "description": forms.Textarea(attrs={"rows": 5}),
            "actions_taken": forms.Textarea(attrs={"rows": 3}),
        }


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field if the form has one."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)
