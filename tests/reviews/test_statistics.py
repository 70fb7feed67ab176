"""The statistics module against published reference values, and its properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviews.statistics import downward_slide, tabular_cusum, wilson_interval
from tests.refusals import refused


# Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of seven
# methods. Statistics in Medicine 1998;17:857-872, Table II, method 3 (score interval without
# continuity correction), to the four decimal places printed there.
@pytest.mark.parametrize(
    ("successes", "trials", "lower", "upper"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (29, 29, 0.8830, 1.0000),
    ],
)
def test_it_matches_newcombes_wilson_intervals(successes, trials, lower, upper):
    interval = wilson_interval(successes, trials)

    assert round(interval.lower, 4) == lower
    assert round(interval.upper, 4) == upper
    assert interval.estimate == successes / trials


@pytest.mark.parametrize(("successes", "trials"), [(1, 0), (-1, 10), (11, 10)])
def test_it_refuses_impossible_counts(successes, trials):
    with pytest.raises(ValueError, match=r"trial|Successes"):
        wilson_interval(successes, trials)


# Montgomery DC. Introduction to Statistical Quality Control, 6th ed., Example 9.1 and
# Table 9.2: 30 observations, target 10, sigma 1, k = 0.5, h = 5. The first 20 come from
# N(10, 1), the last 10 from N(11, 1); the upper CUSUM first exceeds h at observation 29
# (C+ = 5.28) and its counter N+ = 7 dates the shift to after observation 22.
MONTGOMERY_9_1 = [
    9.45, 7.99, 9.29, 11.66, 12.16, 10.18, 8.04, 11.46, 9.20, 10.34,
    9.03, 11.47, 10.51, 9.40, 10.08, 9.37, 10.62, 10.31, 8.52, 10.84,
    10.90, 9.33, 12.29, 11.50, 10.60, 11.08, 10.38, 11.62, 11.31, 10.52,
]  # fmt: skip


def test_it_reproduces_montgomerys_tabular_cusum():
    steps = tabular_cusum(MONTGOMERY_9_1, target=10, slack=0.5, limit=5)

    first_alarm = next(i for i, step in enumerate(steps, start=1) if step.alarm)
    assert first_alarm == 29
    assert round(steps[28].upper, 2) == 5.28
    assert round(steps[29].upper, 2) == 5.30
    # Table 9.2's C+ column at a few points on the way.
    assert [round(steps[i - 1].upper, 2) for i in (4, 5, 23, 28)] == [1.16, 2.82, 1.79, 4.47]


def test_it_finds_montgomerys_shift_mirrored_as_a_slide():
    # The lower CUSUM of the mirrored series is the upper CUSUM of the original: the same
    # alarm, at the same point, dated to the same start.
    mirrored = [20 - value for value in MONTGOMERY_9_1]

    slide = downward_slide(mirrored, target=10, slack=0.5, limit=5)

    assert slide.alarm_index == 28  # observation 29, counted from 0
    assert slide.started_after == 21  # observation 22: N+ = 7 at observation 29
    assert round(slide.shortfall, 2) == 5.28


def test_it_warns_of_a_slide_before_the_threshold_is_crossed():
    # Sensitivity sliding two points a checkpoint from 0.95 towards a 0.90 threshold.
    slide = downward_slide([0.95, 0.93, 0.91, 0.89], target=0.95)

    assert slide.alarm_index == 2
    assert [0.95, 0.93, 0.91, 0.89][slide.alarm_index] >= 0.90


def test_it_ignores_noise_around_the_target():
    assert downward_slide([0.95, 0.94, 0.96, 0.94, 0.95, 0.94, 0.96] * 5, target=0.95) is None


counts = st.integers(min_value=1, max_value=100_000).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)


@given(counts)
def test_it_keeps_the_interval_in_bounds_around_the_estimate(pair):
    successes, trials = pair

    interval = wilson_interval(successes, trials)

    assert 0 <= interval.lower <= interval.estimate <= interval.upper <= 1


@given(counts, st.integers(min_value=2, max_value=50))
def test_it_narrows_the_interval_as_the_sample_grows(pair, factor):
    successes, trials = pair

    small = wilson_interval(successes, trials)
    large = wilson_interval(successes * factor, trials * factor)

    assert large.upper - large.lower < small.upper - small.lower


@given(st.lists(st.floats(min_value=0, max_value=1), max_size=40))
def test_it_never_lets_a_cusum_go_negative(values):
    for step in tabular_cusum(values, target=0.9, slack=0.01, limit=0.05):
        assert step.upper >= 0
        assert step.lower >= 0


def test_it_keeps_the_counts_it_was_given():
    interval = wilson_interval(81, 263)

    assert (interval.successes, interval.trials) == (81, 263)


@pytest.mark.parametrize(("successes", "trials"), [(0, 1), (1, 1)])
def test_it_takes_a_single_trial(successes, trials):
    interval = wilson_interval(successes, trials)

    assert 0 <= interval.lower <= successes <= interval.upper <= 1


@pytest.mark.parametrize(
    ("successes", "trials", "message"),
    [
        (0, 0, "A proportion needs at least one trial."),
        (0, -1, "A proportion needs at least one trial."),
        (-1, 10, "Successes must be between 0 and the number of trials."),
        (11, 10, "Successes must be between 0 and the number of trials."),
    ],
)
def test_it_says_which_count_is_impossible(successes, trials, message):
    with refused(ValueError, message):
        wilson_interval(successes, trials)


# Sums landing exactly on the decision interval, in values a binary float holds exactly
# (target 10, slack 0.5, limit 5): a CUSUM alarms only once a sum is beyond the limit.
@pytest.mark.parametrize(
    ("value", "upper", "lower", "alarm"),
    [
        (15.5, 5.0, 0.0, False),
        (15.75, 5.25, 0.0, True),
        (4.5, 0.0, 5.0, False),
        (4.25, 0.0, 5.25, True),
    ],
)
def test_it_alarms_only_beyond_the_limit(value, upper, lower, alarm):
    (step,) = tabular_cusum([value], target=10, slack=0.5, limit=5)

    assert (step.value, step.upper, step.lower, step.alarm) == (value, upper, lower, alarm)


def test_it_accumulates_each_side_from_the_last_step():
    steps = tabular_cusum([12.5, 12.5, 7.5, 7.5, 7.5], target=10, slack=0.5, limit=50)

    assert [(step.upper, step.lower) for step in steps] == [
        (2.0, 0.0),
        (4.0, 0.0),
        (1.0, 2.0),
        (0.0, 4.0),
        (0.0, 6.0),
    ]


def test_it_finds_no_slide_at_exactly_the_limit():
    assert downward_slide([4.5], target=10, slack=0.5, limit=5) is None
    assert downward_slide([9.5, 7, 7.5], target=10, slack=0.5, limit=5) is None


def test_it_dates_a_slide_from_before_the_first_figure_when_it_never_rested():
    # The lower sum is 2, 4.5, 5.5: never zero, so the slide began before the first figure.
    slide = downward_slide([7.5, 7.0, 8.5], target=10, slack=0.5, limit=5)

    assert (slide.alarm_index, slide.started_after, slide.shortfall) == (2, -1, 5.5)


def test_it_dates_a_slide_from_the_last_figure_on_target():
    slide = downward_slide([10, 7.5, 10, 7.5, 7.0], target=10, slack=0.5, limit=5)

    # The lower sum is 0, 2, 1.5, 3.5, 6: it never returned to zero after the first figure.
    assert (slide.alarm_index, slide.started_after, slide.shortfall) == (4, 0, 6.0)
