"""The statistics behind checkpoint figures: confidence intervals for proportions and a
sequential detector for a metric sliding across checkpoints.

Pure Python on purpose: a handful of arithmetic per metric does not justify numpy, and the
checkpoint sweep and evaluation run these for every report.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from math import sqrt

# The 97.5th percentile of the standard normal distribution: a two-sided 95% interval.
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    """A proportion with its confidence interval: successes of trials."""

    successes: int
    trials: int
    estimate: float
    lower: float
    upper: float


def wilson_interval(successes: int, trials: int, *, z: float = Z_95) -> Interval:
    """The Wilson score interval for `successes` out of `trials` (95% by default).

    Chosen over the textbook (Wald) interval because it stays inside [0, 1] and keeps close to
    its nominal coverage for small samples and for proportions near 0 or 1 — exactly where
    sensitivities of 0.9+ from a few dozen cases sit (Newcombe 1998, method 3).
    """
    if trials <= 0:
        raise ValueError("A proportion needs at least one trial.")
    if not 0 <= successes <= trials:
        raise ValueError("Successes must be between 0 and the number of trials.")
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half_width = z * sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    # Clamp the rounding error at the ends (0/n gives a lower bound of -1e-17 otherwise) and
    # keep the estimate inside the interval whatever the floating point does.
    lower = max(0.0, min(p, centre - half_width))
    upper = min(1.0, max(p, centre + half_width))
    return Interval(successes, trials, p, lower, upper)


@dataclass(frozen=True)
class CusumStep:
    value: float
    upper: float  # C+: evidence that the metric has risen above target
    lower: float  # C-: evidence that it has fallen below target
    alarm: bool


def tabular_cusum(
    values: Iterable[float], *, target: float, slack: float, limit: float
) -> list[CusumStep]:
    """Page's tabular CUSUM, both sides, in the units of the values.

    C+_i = max(0, x_i - (target + slack) + C+_{i-1}) and
    C-_i = max(0, (target - slack) - x_i + C-_{i-1}), starting at 0; a step alarms when
    either passes `limit` (Montgomery, Introduction to Statistical Quality Control, section
    9.1: K = k sigma is the slack, H = h sigma the decision interval). Sums are not reset
    after an alarm: the caller decides what an alarm means.
    """
    upper = lower = 0.0
    steps = []
    for value in values:
        upper = max(0.0, value - (target + slack) + upper)
        lower = max(0.0, (target - slack) - value + lower)
        steps.append(CusumStep(value, upper, lower, upper > limit or lower > limit))
    return steps


# Defaults for a proportion metric watched for a downward slide, in proportion units: allow
# a shortfall of up to one point per checkpoint before counting it (the slack), and warn once
# the accumulated shortfall passes three points. Tuned so a steady slide of two points per
# checkpoint from 0.95 warns at 0.91, before a 0.90 threshold is crossed, while noise of one
# point either side of the target never accumulates.
DRIFT_SLACK = 0.01
DRIFT_LIMIT = 0.03


@dataclass(frozen=True)
class Slide:
    """A downward slide found in a run of figures: where it alarmed and from where it started."""

    alarm_index: int
    started_after: int
    shortfall: float


def downward_slide(
    values: Sequence[float],
    *,
    target: float,
    slack: float = DRIFT_SLACK,
    limit: float = DRIFT_LIMIT,
) -> Slide | None:
    """The first point at which the lower CUSUM of `values` passes `limit`, or None.

    `started_after` is the index of the last figure at which the lower sum was zero — the
    CUSUM's own estimate of when the slide began (Montgomery's N- counter).
    """
    last_zero = -1
    for index, step in enumerate(tabular_cusum(values, target=target, slack=slack, limit=limit)):
        if step.lower == 0:
            last_zero = index
        elif step.lower > limit:
            return Slide(index, last_zero, step.lower)
    return None
