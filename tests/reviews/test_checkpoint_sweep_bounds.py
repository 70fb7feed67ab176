"""One checkpoint sweep creates a bounded number of checkpoints, whatever a plan's dates.

The attack: a testing plan starting in year 1 (or 26) was accepted, and the next sweep created
26,101 checkpoints for that one case, all overdue and escalated, and made three pages take
10 s and 14 MB. The plan form's date rules are another issue's; here the plans are written
straight to the database, as legacy data or an import would, and the sweep must stay bounded
(CHECKPOINT_SWEEP_MAX_PER_CASE a case, CHECKPOINT_SWEEP_MAX_PER_RUN in all) and say what it
held back, in its result and its log.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from devices.models import ApplicationState
from reviews.models import Checkpoint, TestingPlan
from reviews.monitoring.checkpoints import checkpoints_sweep
from tests.factories import make_application

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 6, 1)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime(2026, 6, 1, 6, tzinfo=LONDON), tick=False):
        yield


def _plan_from(starts_on: date, *, cadence_days: int = 28, organisation=None, **kwargs):
    """A case in testing whose plan was written straight to the database."""
    application = make_application(
        ApplicationState.IN_CONTROLLED_TESTING,
        **({"organisation": organisation} if organisation else {}),
        **kwargs,
    )
    TestingPlan.objects.filter(application=application).update(
        starts_on=starts_on, ends_on=TODAY + timedelta(days=180), cadence_days=cadence_days
    )
    return application


@pytest.mark.parametrize("year", [1, 26])
def test_a_plan_starting_in_an_absurd_year_adds_a_bounded_handful(year, settings, caplog):
    case = _plan_from(date(year, 1, 1))
    due = (TODAY + timedelta(days=14) - date(year, 1, 1)).days // 28

    result = checkpoints_sweep()

    per_case = settings.CHECKPOINT_SWEEP_MAX_PER_CASE
    assert result.created == per_case
    assert Checkpoint.objects.filter(application=case).count() == per_case
    assert result.held_back == due - per_case
    assert result.held_back_cases == 1
    assert f"held back {due - per_case} due checkpoints in 1 cases" in caplog.text
    # The oldest ones first, contiguous: the next run carries on from there.
    assert list(
        Checkpoint.objects.filter(application=case).values_list("sequence", flat=True)
    ) == list(range(1, per_case + 1))


def test_each_run_stays_bounded_and_the_count_held_back_falls(settings):
    _plan_from(date(1, 1, 1))
    first = checkpoints_sweep()

    second = checkpoints_sweep()

    assert second.created == settings.CHECKPOINT_SWEEP_MAX_PER_CASE
    assert second.held_back == first.held_back - settings.CHECKPOINT_SWEEP_MAX_PER_CASE


def test_the_pages_stay_small_after_a_sweep(client, manufacturer, reviewer, settings):
    case = _plan_from(date(1, 1, 1), organisation=manufacturer.membership.organisation)
    checkpoints_sweep()

    client.force_login(manufacturer)
    testing = client.get(reverse("devices:testing", args=[case.pk]))
    client.force_login(reviewer)
    performance = client.get(reverse("reviews:performance", args=[case.pk]))

    assert testing.status_code == performance.status_code == 200
    assert Checkpoint.objects.count() == settings.CHECKPOINT_SWEEP_MAX_PER_CASE


def test_one_run_creates_at_most_the_run_limit_earliest_sequences_first(settings):
    settings.CHECKPOINT_SWEEP_MAX_PER_RUN = 5
    cases = [_plan_from(TODAY - timedelta(days=28 * 4)) for _ in range(3)]

    result = checkpoints_sweep()

    assert result.created == 5
    # Every case got its first checkpoint before any got a third.
    created = sorted(Checkpoint.objects.values_list("application_id", "sequence"))
    assert {(case.pk, 1) for case in cases} | {(case.pk, 2) for case in cases[:2]} == set(created)
    assert result.held_back == 3 * 4 - 5
    assert result.held_back_cases == 3


def test_an_ordinary_plan_is_never_held_back():
    case = _plan_from(TODAY - timedelta(days=28 * 3))

    result = checkpoints_sweep()
    again = checkpoints_sweep()

    assert (result.created, result.held_back, result.held_back_cases) == (3, 0, 0)
    assert (again.created, again.held_back) == (0, 0)
    assert Checkpoint.objects.filter(application=case).count() == 3


def test_a_daily_cadence_catching_up_a_month_is_within_the_case_bound():
    case = _plan_from(TODAY - timedelta(days=16), cadence_days=1)

    result = checkpoints_sweep()

    # 16 days gone and 14 of lead time: 30 checkpoints, under the 31 a case may take.
    assert result.created == 30
    assert result.held_back == 0
    assert Checkpoint.objects.filter(application=case).count() == 30
