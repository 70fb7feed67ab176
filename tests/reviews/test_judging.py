"""How one figure is read and judged (`reviews.judging`), called directly: the counts a
manufacturer may give, the rounding a proportion must respect, and the verdict at, just below
and just above each limit. The pages and services that use these have their own tests
(`test_checkpoint_counts.py`, `test_rule_boundaries.py`); these pin the rule itself."""

from dataclasses import dataclass
from decimal import Decimal

import pytest

from reviews.judging import (
    MAX_TRIALS,
    Judgement,
    Verdict,
    counts_clean,
    counts_of,
    figure_of,
    judge,
    proportion,
)
from reviews.models import Comparator, JudgedOn, Metric
from reviews.statistics import wilson_interval


@dataclass
class Threshold:
    """The fields `judge` reads from a MetricThreshold or a plan version's threshold."""

    metric: str = Metric.SENSITIVITY
    comparator: str = Comparator.AT_LEAST
    value: Decimal = Decimal("0.90")
    critical_value: Decimal | None = None
    judged_on: str = JudgedOn.ESTIMATE


@pytest.mark.parametrize(
    ("raw", "counts"),
    [
        ([3, 10], (3, 10)),
        ((3, 10), (3, 10)),
        ([0, 1], (0, 1)),
        ([1, 1], (1, 1)),
        ([0, 0], None),
        ([-1, 5], None),
        ([6, 5], None),
        ([1.5, 2], None),
        ([1, 2.0], None),
        ([1, 2, 3], None),
        ([3], None),
        ({"successes": 3, "trials": 10}, None),
        ("310", None),
        (None, None),
    ],
)
def test_it_reads_stored_counts_only_when_they_make_a_proportion(raw, counts):
    assert counts_of(raw) == counts


@pytest.mark.parametrize(
    ("raw", "counts"),
    [
        ({"successes": 93, "trials": 100}, (93, 100)),
        ({"successes": 0, "trials": 1}, (0, 1)),
        ({"successes": 1, "trials": 1}, (1, 1)),
        ({"successes": "7", "trials": " 12 "}, (7, 12)),
        ({"successes": 7.0, "trials": 12.0}, (7, 12)),
        ({"successes": 0, "trials": MAX_TRIALS}, (0, MAX_TRIALS)),
        ({"value": 0.93, "trials": 100}, (93, 100)),
        ({"value": "0.93", "trials": "100"}, (93, 100)),
        ({"value": 0, "trials": 40}, (0, 40)),
        ({"value": 1, "trials": 40}, (40, 40)),
        # Figures are recorded to 4 places: 1234/10000 is 0.1234, exactly 0.00005 from 0.12345.
        ({"value": 0.12345, "trials": 10_000}, (1234, 10_000)),
        ({"value": 0.3333, "trials": 3}, (1, 3)),
    ],
)
def test_it_reads_counts_or_a_proportion_with_its_trials(raw, counts):
    assert counts_clean(Metric.SENSITIVITY, raw) == counts


SHAPE = (
    "Give sensitivity as counts (successes and trials: true positives and positives), "
    "or as a proportion (value) with its trials."
)
TRIALS = "Sensitivity: the positives must be a whole number of at least 1."


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"successes": 3}, SHAPE),
        ({"value": 0.5}, SHAPE),
        ({"trials": 10}, SHAPE),
        ({"successes": 3, "value": 0.3, "trials": 10}, SHAPE),
        ({"successes": 1, "trials": 2, "extra": 1}, SHAPE),
        ({}, SHAPE),
        ({"successes": 0, "trials": 0}, TRIALS),
        ({"successes": 0, "trials": -1}, TRIALS),
        ({"successes": 0, "trials": MAX_TRIALS + 1}, TRIALS),
        ({"successes": 0, "trials": "many"}, TRIALS),
        ({"successes": 0, "trials": 12.5}, TRIALS),
        ({"successes": 0, "trials": True}, TRIALS),
        ({"successes": 0, "trials": None}, TRIALS),
        (
            {"successes": 11, "trials": 10},
            "Sensitivity: the true positives must be a whole number between 0 and the "
            "positives (10).",
        ),
        (
            {"successes": -1, "trials": 10},
            "Sensitivity: the true positives must be a whole number between 0 and the "
            "positives (10).",
        ),
        (
            {"successes": "some", "trials": 10},
            "Sensitivity: the true positives must be a whole number between 0 and the "
            "positives (10).",
        ),
        ({"value": "high", "trials": 10}, "Sensitivity must be a number."),
        ({"value": True, "trials": 10}, "Sensitivity must be a number."),
        (
            {"value": 1.5, "trials": 10},
            "Sensitivity is a proportion between 0 and 1, such as 0.92.",
        ),
        (
            {"value": -0.1, "trials": 10},
            "Sensitivity is a proportion between 0 and 1, such as 0.92.",
        ),
        (
            {"value": "NaN", "trials": 10},
            "Sensitivity is a proportion between 0 and 1, such as 0.92.",
        ),
        (
            {"value": "Infinity", "trials": 10},
            "Sensitivity is a proportion between 0 and 1, such as 0.92.",
        ),
        (
            # 1/3 is 0.33333…, 0.0000667 from 0.3334: more than the 4th place's rounding.
            {"value": 0.3334, "trials": 3},
            "Sensitivity 0.3334 is not a whole number of true positives out of 3: check the "
            "figure and the number of cases, or give the counts.",
        ),
    ],
)
def test_it_says_why_counts_cannot_be_read(raw, message):
    assert counts_clean(Metric.SENSITIVITY, raw) == message


def test_it_names_each_metrics_own_counts():
    assert counts_clean(Metric.OVERRIDE_RATE, {"trials": 0, "successes": 0}) == (
        "Clinician override rate: the cases seen must be a whole number of at least 1."
    )


@pytest.mark.parametrize("metric", [Metric.AUROC, Metric.CALIBRATION_SLOPE])
def test_it_refuses_counts_for_a_figure_that_is_not_a_proportion(metric):
    label = Metric(metric).label

    assert counts_clean(metric, {"successes": 3, "trials": 10}) == (
        f"{label} is not a proportion of cases: give it as a figure, such as 0.91."
    )


@pytest.mark.parametrize(
    ("counts", "figure"), [((93, 100), 0.93), ((1, 3), 0.3333), ((2, 3), 0.6667), ((0, 7), 0.0)]
)
def test_it_rounds_a_proportion_to_four_places(counts, figure):
    assert proportion(counts) == figure


@pytest.mark.parametrize(
    ("comparator", "observed", "verdict"),
    [
        (Comparator.AT_LEAST, "0.9001", Verdict.MET),
        (Comparator.AT_LEAST, "0.90", Verdict.MET),
        (Comparator.AT_LEAST, "0.8999", Verdict.BREACH),
        (Comparator.AT_MOST, "0.8999", Verdict.MET),
        (Comparator.AT_MOST, "0.90", Verdict.MET),
        (Comparator.AT_MOST, "0.9001", Verdict.BREACH),
    ],
)
def test_it_judges_a_figure_at_and_either_side_of_its_threshold(comparator, observed, verdict):
    threshold = Threshold(metric=Metric.AUROC, comparator=comparator)

    judgement = judge(threshold, Decimal(observed), None, 30)

    assert judgement == Judgement(verdict, Decimal(observed), None, Decimal(observed))


@pytest.mark.parametrize(
    ("comparator", "observed", "verdict"),
    [
        (Comparator.AT_LEAST, "0.80", Verdict.BREACH),
        (Comparator.AT_LEAST, "0.7999", Verdict.CRITICAL),
        (Comparator.AT_MOST, "0.80", Verdict.MET),
        (Comparator.AT_MOST, "0.95", Verdict.BREACH),
        (Comparator.AT_MOST, "0.9501", Verdict.CRITICAL),
    ],
)
def test_it_is_critical_only_beyond_the_critical_value(comparator, observed, verdict):
    critical = Decimal("0.80") if comparator == Comparator.AT_LEAST else Decimal("0.95")
    threshold = Threshold(metric=Metric.AUROC, comparator=comparator, critical_value=critical)
    if comparator == Comparator.AT_MOST:
        threshold.value = Decimal("0.90")

    assert judge(threshold, Decimal(observed), None, 0).verdict == verdict


def test_it_does_not_report_a_missing_figure():
    judgement = judge(Threshold(), None, (93, 100), 30)

    assert judgement == Judgement(Verdict.NOT_REPORTED)
    assert judgement.met is None


def test_it_judges_a_proportion_with_its_counts_and_interval():
    judgement = judge(Threshold(), Decimal("0.93"), (93, 100), 30)

    assert judgement == Judgement(
        Verdict.MET, Decimal("0.93"), wilson_interval(93, 100), Decimal("0.93")
    )
    assert judgement.met is True


def test_it_judges_a_proportion_without_counts_when_the_plan_needs_no_sample():
    judgement = judge(Threshold(), Decimal("0.89"), None, 0)

    assert judgement == Judgement(Verdict.BREACH, Decimal("0.89"), None, Decimal("0.89"))
    assert judgement.met is False


@pytest.mark.parametrize(
    ("min_sample", "judged_on"), [(30, JudgedOn.ESTIMATE), (0, JudgedOn.INTERVAL)]
)
def test_it_will_not_judge_a_proportion_needing_a_sample_without_its_counts(min_sample, judged_on):
    judgement = judge(Threshold(judged_on=judged_on), Decimal("0.95"), None, min_sample)

    assert judgement == Judgement(
        Verdict.TOO_SMALL, Decimal("0.95"), why="reported without the number of cases"
    )
    assert judgement.too_small
    assert judgement.met is None


def test_it_judges_a_figure_that_is_not_a_proportion_without_counts():
    judgement = judge(Threshold(metric=Metric.AUROC), Decimal("0.95"), None, 30)

    assert judgement.verdict == Verdict.MET


@pytest.mark.parametrize(("trials", "judged"), [(29, False), (30, True), (31, True)])
def test_it_judges_a_proportion_only_from_the_plans_minimum_sample(trials, judged):
    counts = (trials - 1, trials)

    judgement = judge(Threshold(), Decimal(str(proportion(counts))), counts, 30)

    assert judgement.too_small is not judged
    assert judgement.interval == wilson_interval(*counts)
    if not judged:
        assert judgement == Judgement(
            Verdict.TOO_SMALL,
            Decimal(str(proportion(counts))),
            wilson_interval(*counts),
            why="29 cases, fewer than the plan's minimum of 30",
        )


# Newcombe's 81/263 (0.3080) has the interval 0.2553 to 0.3662, and 15/148 (0.1014) 0.0624 to
# 0.1605 (`test_statistics.py`): judged on the interval, a minimum meets the lower bound and
# a maximum the upper.
@pytest.mark.parametrize(
    ("comparator", "counts", "value", "compared", "verdict"),
    [
        (Comparator.AT_LEAST, (81, 263), "0.2553", "0.2553", Verdict.MET),
        (Comparator.AT_LEAST, (81, 263), "0.2554", "0.2553", Verdict.BREACH),
        (Comparator.AT_MOST, (15, 148), "0.1605", "0.1605", Verdict.MET),
        (Comparator.AT_MOST, (15, 148), "0.1604", "0.1605", Verdict.BREACH),
    ],
)
def test_it_judges_on_the_guarded_end_of_the_interval(comparator, counts, value, compared, verdict):
    threshold = Threshold(comparator=comparator, value=Decimal(value), judged_on=JudgedOn.INTERVAL)
    observed = Decimal(str(proportion(counts)))

    judgement = judge(threshold, observed, counts, 0)

    assert judgement == Judgement(verdict, observed, wilson_interval(*counts), Decimal(compared))


def test_it_compares_the_critical_limit_with_the_figure_not_the_interval():
    # 27/30 is 0.90, its lower bound 0.7435: a wide interval asks for more cases; it is not
    # evidence of harm beyond a critical value of 0.80.
    threshold = Threshold(critical_value=Decimal("0.80"), judged_on=JudgedOn.INTERVAL)

    judgement = judge(threshold, Decimal("0.9"), (27, 30), 0)

    assert judgement.verdict == Verdict.BREACH
    assert judgement.compared == Decimal(str(round(wilson_interval(27, 30).lower, 4)))
    assert not judgement.critical


@pytest.mark.parametrize(
    ("metrics", "counts", "figure"),
    [
        ({"sensitivity": 0.93}, {"sensitivity": [93, 100]}, (Decimal("0.93"), (93, 100))),
        ({"sensitivity": "0.93"}, {"sensitivity": [93, 100]}, (Decimal("0.93"), (93, 100))),
        ({"sensitivity": 0.93}, {"specificity": [93, 100]}, (Decimal("0.93"), None)),
        ({"sensitivity": 0.93}, {"sensitivity": [101, 100]}, (Decimal("0.93"), None)),
        ({"sensitivity": 0.93}, None, (Decimal("0.93"), None)),
        ({"sensitivity": 0.93}, [[93, 100]], (Decimal("0.93"), None)),
        ({"specificity": 0.93}, {"sensitivity": [93, 100]}, (None, None)),
        ({"sensitivity": None}, {}, (None, None)),
        ({"sensitivity": "n/a"}, {}, (None, None)),
        ({"sensitivity": [0.93]}, {}, (None, None)),
        ([0.93], {}, (None, None)),
        (None, {}, (None, None)),
    ],
)
def test_it_reads_a_figure_and_its_counts_from_a_report(metrics, counts, figure):
    assert figure_of(metrics, counts, Metric.SENSITIVITY) == figure
