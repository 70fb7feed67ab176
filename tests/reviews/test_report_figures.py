"""The checks on a checkpoint report's figures (`reviews.monitoring.reports`), called directly:
every reason a figure, a count or a subgroup is refused, in the words the manufacturer reads,
and the figures kept when they are good. The service and the pages that use them are tested
in `test_monitoring_evaluation.py` and `test_checkpoint_counts.py`."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError

from reviews.models import Metric
from reviews.monitoring.reports import (
    CleanFigures,
    _figure_words,
    metric_range_message,
    metric_value_error,
    report_figures_clean,
)
from reviews.statistics import wilson_interval

PROPORTION = "Sensitivity is a proportion between 0 and 1, such as 0.92."
SLOPE = "Calibration slope is a figure between 0 and 10, such as 1.02."


def test_it_says_what_range_each_metric_takes():
    assert metric_range_message(Metric.SENSITIVITY) == PROPORTION
    assert metric_range_message(Metric.CALIBRATION_SLOPE) == SLOPE


@pytest.mark.parametrize(
    ("metric", "value", "error"),
    [
        (Metric.SENSITIVITY, 0, None),
        (Metric.SENSITIVITY, 1, None),
        (Metric.SENSITIVITY, "0.5", None),
        (Metric.SENSITIVITY, -0.0001, PROPORTION),
        (Metric.SENSITIVITY, 1.0001, PROPORTION),
        (Metric.CALIBRATION_SLOPE, 0, None),
        (Metric.CALIBRATION_SLOPE, 10, None),
        (Metric.CALIBRATION_SLOPE, 1.02, None),
        (Metric.CALIBRATION_SLOPE, -0.0001, SLOPE),
        (Metric.CALIBRATION_SLOPE, 10.0001, SLOPE),
        (Metric.SENSITIVITY, "high", "Sensitivity must be a number."),
        (Metric.SENSITIVITY, None, "Sensitivity must be a number."),
        (Metric.SENSITIVITY, [0.9], "Sensitivity must be a number."),
        (Metric.SENSITIVITY, True, "Sensitivity must be a number."),
        (Metric.SENSITIVITY, "NaN", "Sensitivity must be a number."),
        (Metric.SENSITIVITY, float("inf"), "Sensitivity must be a number."),
        ("accuracy", 0.9, "“accuracy” is not a metric Airlock records."),
    ],
)
def test_it_checks_a_figure_against_its_metrics_range(metric, value, error):
    assert metric_value_error(metric, value) == error


def test_it_keeps_good_figures_and_the_counts_behind_them():
    clean = report_figures_clean(
        metrics={
            "sensitivity": {"successes": 93, "trials": 100},
            "specificity": 0.95,
            "calibration_slope": "1.02",
        },
        subgroup_metrics={
            " Over 65 ": {"sensitivity": {"value": 0.9, "trials": 40}, "specificity": 0.91},
            "Under 18": {"specificity": 1},
        },
        required=["sensitivity", "specificity"],
    )

    assert clean == CleanFigures(
        metrics={"sensitivity": 0.93, "specificity": 0.95, "calibration_slope": 1.02},
        counts={"sensitivity": [93, 100]},
        subgroup_metrics={
            "Over 65": {"sensitivity": 0.9, "specificity": 0.91},
            "Under 18": {"specificity": 1.0},
        },
        subgroup_counts={"Over 65": {"sensitivity": [36, 40]}},
    )


def refusal(**figures) -> dict:
    arguments = {"metrics": {}, "subgroup_metrics": {}, "required": []} | figures
    with pytest.raises(ValidationError) as refused:
        report_figures_clean(**arguments)
    return refused.value.message_dict


def test_it_names_each_required_metric_missing():
    assert refusal(
        metrics={"specificity": 0.9}, required=["sensitivity", "specificity", "ppv"]
    ) == {
        "metrics": [
            "Sensitivity is required: the testing plan sets a threshold for it.",
            "Positive predictive value is required: the testing plan sets a threshold for it.",
        ]
    }


def test_it_says_why_each_bad_figure_is_refused_and_checks_them_all():
    assert refusal(
        metrics={
            "sensitivity": 1.5,
            "accuracy": 0.9,
            "specificity": {"successes": 11, "trials": 10},
            "npv": 0.9,
        }
    ) == {
        "metrics": [
            PROPORTION,
            "“accuracy” is not a metric Airlock records.",
            "Specificity: the true negatives must be a whole number between 0 and the "
            "negatives (10).",
        ]
    }


@pytest.mark.parametrize(
    ("subgroups", "errors"),
    [
        (
            {"": {"sensitivity": 0.9}},
            ["Each subgroup needs a name of up to 100 printable characters."],
        ),
        (
            {"   ": {"sensitivity": 0.9}},
            ["Each subgroup needs a name of up to 100 printable characters."],
        ),
        (
            {"x" * 101: {"sensitivity": 0.9}},
            ["Each subgroup needs a name of up to 100 printable characters."],
        ),
        (
            {"a\x00b": {"sensitivity": 0.9}},
            ["Each subgroup needs a name of up to 100 printable characters."],
        ),
        ({"Over 65": {}}, ["Give at least one metric for “Over 65”."]),
        ({"Over 65": 0.9}, ["Give at least one metric for “Over 65”."]),
        ({"Over 65": {"sensitivity": 2}}, [f"Over 65: {PROPORTION}"]),
        (
            {"Over 65": {"sensitivity": {"successes": 1}}, "Under 18": {"sensitivity": -1}},
            [
                "Over 65: Give sensitivity as counts (successes and trials: true positives and "
                "positives), or as a proportion (value) with its trials.",
                f"Under 18: {PROPORTION}",
            ],
        ),
    ],
)
def test_it_says_why_each_subgroup_is_refused(subgroups, errors):
    assert refusal(metrics={"sensitivity": 0.9}, subgroup_metrics=subgroups) == {
        "subgroup_metrics": errors
    }


def test_it_takes_a_subgroup_name_of_exactly_a_hundred_characters():
    name = "x" * 100

    clean = report_figures_clean(
        metrics={}, subgroup_metrics={name: {"sensitivity": 0.9}}, required=[]
    )

    assert clean.subgroup_metrics == {name: {"sensitivity": 0.9}}
    assert clean.subgroup_counts == {}


@pytest.mark.parametrize(
    ("figures", "errors"),
    [
        ({"metrics": [0.9]}, {"metrics": ["Give the metrics as names and values."]}),
        (
            {"subgroup_metrics": ["Over 65"]},
            {"subgroup_metrics": ["Give subgroup figures per subgroup."]},
        ),
    ],
)
def test_it_refuses_figures_that_are_not_names_and_values(figures, errors):
    assert refusal(**figures) == errors


def test_it_words_a_figure_with_its_counts_and_interval():
    interval = wilson_interval(81, 263)

    assert _figure_words(SimpleNamespace(observed=Decimal("0.308"), interval=interval)) == (
        "0.308 (81 of 263; 95% CI 0.255 to 0.366)"
    )
    assert _figure_words(SimpleNamespace(observed=Decimal("0.91"), interval=None)) == "0.91"
