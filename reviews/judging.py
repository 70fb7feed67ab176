"""How one reported figure is read and judged against its threshold: the counts behind a
proportion, its 95% Wilson interval, and whether the sample is big enough to judge at all.

One place for the rule, used by evaluation (which raises signals), the safety record and the
performance chart (which show the verdicts), so they never disagree.
"""

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from reviews.models import Comparator, JudgedOn, Metric
from reviews.statistics import Interval, wilson_interval

# Proportions of a count of cases, so reported with the counts behind them:
# sensitivity = true positives / positives, specificity = true negatives / negatives,
# PPV = true positives / predicted positives, NPV = true negatives / predicted negatives,
# override rate = overridden / cases seen. AUROC and the calibration slope are not counts.
COUNT_METRICS = frozenset(
    {Metric.SENSITIVITY, Metric.SPECIFICITY, Metric.PPV, Metric.NPV, Metric.OVERRIDE_RATE}
)
COUNT_WORDS = {
    Metric.SENSITIVITY: ("true positives", "positives"),
    Metric.SPECIFICITY: ("true negatives", "negatives"),
    Metric.PPV: ("true positives", "positive calls"),
    Metric.NPV: ("true negatives", "negative calls"),
    Metric.OVERRIDE_RATE: ("cases overridden", "cases seen"),
}
# Figures are recorded to 4 decimal places: a proportion given with its denominator must be
# one that a whole number of cases over that denominator rounds to.
ROUNDING = Decimal("0.00005")
MAX_TRIALS = 100_000_000


def counts_of(raw: object) -> tuple[int, int] | None:
    """Stored [successes, trials] as a pair, or None when absent or malformed."""
    if isinstance(raw, list | tuple) and len(raw) == 2:
        successes, trials = raw
        whole = isinstance(successes, int) and isinstance(trials, int)
        if whole and 0 <= successes <= trials and trials > 0:
            return successes, trials
    return None


def _whole(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def counts_clean(metric: str, raw: Mapping) -> tuple[int, int] | str:
    """Read {"successes", "trials"} or {"value", "trials"} into (successes, trials), or say in
    words why not."""
    label = Metric(metric).label
    if metric not in COUNT_METRICS:
        return f"{label} is not a proportion of cases: give it as a figure, such as 0.91."
    numerator_words, denominator_words = COUNT_WORDS[metric]
    unknown = set(raw) - {"successes", "trials", "value"}
    if unknown or "trials" not in raw or ("successes" in raw) == ("value" in raw):
        return (
            f"Give {label.lower()} as counts (successes and trials: {numerator_words} and "
            f"{denominator_words}), or as a proportion (value) with its trials."
        )
    trials = _whole(raw["trials"])
    if trials is None or not 0 < trials <= MAX_TRIALS:
        return f"{label}: the {denominator_words} must be a whole number of at least 1."
    if "successes" in raw:
        successes = _whole(raw["successes"])
        if successes is None or not 0 <= successes <= trials:
            return (
                f"{label}: the {numerator_words} must be a whole number between 0 and the "
                f"{denominator_words} ({trials})."
            )
        return successes, trials
    try:
        value = Decimal(str(raw["value"]))
    except (InvalidOperation, ValueError):
        return f"{label} must be a number."
    if isinstance(raw["value"], bool) or not value.is_finite() or not 0 <= value <= 1:
        return f"{label} is a proportion between 0 and 1, such as 0.92."
    successes = int((value * trials).to_integral_value())
    if abs(Decimal(successes) / trials - value) > ROUNDING:
        return (
            f"{label} {value} is not a whole number of {numerator_words} out of {trials}: "
            "check the figure and the number of cases, or give the counts."
        )
    return successes, trials


def proportion(counts: tuple[int, int]) -> float:
    return round(counts[0] / counts[1], 4)


class Verdict(enum.StrEnum):
    NOT_REPORTED = "Not reported"
    TOO_SMALL = "Too small to judge"
    MET = "Met"
    BREACH = "Breach"
    CRITICAL = "Critical"


def _breaches(comparator: str, limit: Decimal, value: Decimal) -> bool:
    return value < limit if comparator == Comparator.AT_LEAST else value > limit


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    observed: Decimal | None = None
    interval: Interval | None = None
    # The quantity compared with the threshold: the figure, or the guarded end of its interval.
    compared: Decimal | None = None
    why: str = ""

    @property
    def met(self) -> bool | None:
        if self.verdict in (Verdict.NOT_REPORTED, Verdict.TOO_SMALL):
            return None
        return self.verdict == Verdict.MET

    @property
    def critical(self) -> bool:
        return self.verdict == Verdict.CRITICAL

    @property
    def too_small(self) -> bool:
        return self.verdict == Verdict.TOO_SMALL


def judge(threshold, observed: Decimal | None, counts: tuple[int, int] | None, min_sample: int):
    """Judge one figure against `threshold` (a MetricThreshold or a version's threshold).

    A proportion is too small to judge when its trials are fewer than the plan's minimum
    sample, or when the plan needs a sample size (a minimum, or judging on the interval) and
    the figure came without its counts. Judged on the interval, a minimum is compared with
    the interval's lower bound and a maximum with its upper bound: the manufacturer shows the
    requirement is met. The critical limit, which can suspend testing, is always compared with
    the figure itself: a wide interval from a small sample is a reason to ask for more cases,
    not evidence of harm.
    """
    if observed is None:
        return Judgement(Verdict.NOT_REPORTED)
    interval = wilson_interval(*counts) if counts else None
    compared = observed
    if threshold.metric in COUNT_METRICS:
        on_interval = threshold.judged_on == JudgedOn.INTERVAL
        if counts is None and (min_sample or on_interval):
            return Judgement(
                Verdict.TOO_SMALL, observed, why="reported without the number of cases"
            )
        if counts is not None and counts[1] < min_sample:
            return Judgement(
                Verdict.TOO_SMALL,
                observed,
                interval,
                why=f"{counts[1]} cases, fewer than the plan's minimum of {min_sample}",
            )
        if on_interval:
            end = interval.lower if threshold.comparator == Comparator.AT_LEAST else interval.upper
            compared = Decimal(str(round(end, 4)))
    critical = threshold.critical_value
    if critical is not None and _breaches(threshold.comparator, critical, observed):
        verdict = Verdict.CRITICAL
    elif _breaches(threshold.comparator, threshold.value, compared):
        verdict = Verdict.BREACH
    else:
        verdict = Verdict.MET
    return Judgement(verdict, observed, interval, compared)


def figure_of(metrics: object, counts: object, metric: str):
    """A reported figure and its counts from a report's JSON, tolerating malformed rows."""
    if not isinstance(metrics, dict):
        return None, None
    try:
        value = Decimal(str(metrics[metric]))
    except (KeyError, InvalidOperation, TypeError, ValueError):
        return None, None
    return value, counts_of(counts.get(metric)) if isinstance(counts, dict) else None
