from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from devices.models import ApplicationState
from devices.services import TransitionRefused
from reviews.models import PlanVersion
from reviews.models import TestingPlan as Plan  # not "Test…": pytest would try to collect it
from reviews.plan_terms import PlanDetails, ThresholdSpec
from reviews.plans import plan_version_save
from tests.factories import make_application

S = ApplicationState


def _url(name: str, application) -> str:
    return reverse(f"reviews:{name}", args=[application.pk])


def _day(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def _plan_data(thresholds=None, **overrides) -> dict:
    thresholds = (
        thresholds
        if thresholds is not None
        else [
            {
                "metric": "sensitivity",
                "comparator": "gte",
                "value": "0.90",
                "critical_value": "0.80",
            },
            {"metric": "override_rate", "comparator": "lte", "value": "0.20", "critical_value": ""},
        ]
    )
    data = {
        "environment": "virtual",
        "starts_on": _day(14),
        "ends_on": _day(194),
        "cadence_days": "28",
        "nhs_sites": "Leeds Teaching Hospitals",
        "suspend_on_critical_breach": "on",
        "notes": "",
        "thresholds-TOTAL_FORMS": str(len(thresholds)),
        "thresholds-INITIAL_FORMS": "0",
        "thresholds-MIN_NUM_FORMS": "0",
        "thresholds-MAX_NUM_FORMS": "20",
    }
    for index, row in enumerate(thresholds):
        for key, value in row.items():
            data[f"thresholds-{index}-{key}"] = value
    data.update(overrides)
    return data


@pytest.fixture
def accepted(db):
    """Accepted, with no plan yet."""
    application = make_application(S.ACCEPTED)
    application.testing_plan.delete()
    application.plan_versions.all().delete()
    application.refresh_from_db()
    return application


@pytest.mark.parametrize("persona", ["reviewer", "lead_reviewer"])
def test_reviewers_draft_a_plan_with_thresholds(client, request, persona, accepted):
    actor = request.getfixturevalue(persona)
    client.force_login(actor)

    page = client.get(_url("testing-plan", accepted))
    response = client.post(_url("testing-plan", accepted), _plan_data())

    assert page.context["form"].initial["environment"] == accepted.sandbox_environment
    assert response.status_code == 302
    version = PlanVersion.objects.get(application=accepted)
    today = timezone.localdate()
    assert (version.number, version.starts_on, version.ends_on, version.cadence_days) == (
        1,
        today + timedelta(days=14),
        today + timedelta(days=194),
        28,
    )
    assert (version.drafted_by, version.reviewer_agreed_at) == (actor, None)
    # A draft is not a plan in force: nothing is scheduled or evaluated against it.
    assert not Plan.objects.filter(application=accepted).exists()
    thresholds = {t.metric: t for t in version.thresholds.all()}
    assert thresholds["sensitivity"].critical_value == Decimal("0.8")
    assert thresholds["override_rate"].comparator == "lte"
    assert thresholds["override_rate"].critical_value is None


def test_blank_spare_rows_and_removed_rows_are_ignored(client, reviewer, accepted):
    rows = [
        {"metric": "sensitivity", "comparator": "gte", "value": "0.9", "critical_value": ""},
        {"metric": "specificity", "comparator": "gte", "value": "0.8", "DELETE": "on"},
        {"metric": "", "comparator": "gte", "value": "", "critical_value": ""},
    ]
    client.force_login(reviewer)

    client.post(_url("testing-plan", accepted), _plan_data(rows))

    version = PlanVersion.objects.get()
    assert [t.metric for t in version.thresholds.all()] == ["sensitivity"]


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        (
            {
                "metric": "sensitivity",
                "comparator": "gte",
                "value": "0.9",
                "critical_value": "0.95",
            },
            "critical_value",
            "critical value must be below it",
        ),
        (
            {
                "metric": "override_rate",
                "comparator": "lte",
                "value": "0.2",
                "critical_value": "0.1",
            },
            "critical_value",
            "critical value must be above it",
        ),
        (
            {"metric": "sensitivity", "comparator": "gte", "value": "90", "critical_value": ""},
            "value",
            "give a value between 0 and 1",
        ),
        (
            {"metric": "weather", "comparator": "gte", "value": "0.9", "critical_value": ""},
            "metric",
            "Select a valid choice",
        ),
        (
            {"metric": "sensitivity", "comparator": "gte", "value": "-1", "critical_value": ""},
            "value",
            "A threshold cannot be negative.",
        ),
        (
            {"metric": "sensitivity", "comparator": "gte", "value": "lots", "critical_value": ""},
            "value",
            "Enter a number",
        ),
    ],
)
def test_bad_thresholds_show_field_errors(client, reviewer, accepted, row, field, message):
    client.force_login(reviewer)

    response = client.post(_url("testing-plan", accepted), _plan_data([row]))

    assert response.status_code == 200
    errors = response.context["formset"].forms[0].errors
    assert field in errors
    assert message in str(errors[field])
    assert "There is a problem" in response.content.decode()
    assert not PlanVersion.objects.exists()


def test_a_plan_needs_a_threshold_and_each_metric_once(client, reviewer, accepted):
    client.force_login(reviewer)
    twice = [
        {"metric": "sensitivity", "comparator": "gte", "value": "0.9"},
        {"metric": "sensitivity", "comparator": "gte", "value": "0.8"},
    ]

    none = client.post(_url("testing-plan", accepted), _plan_data([]))
    duplicate = client.post(_url("testing-plan", accepted), _plan_data(twice))

    assert "Set at least one metric threshold." in none.content.decode()
    assert "Set each metric&#x27;s threshold once." in duplicate.content.decode()
    assert not PlanVersion.objects.exists()


def test_testing_must_end_after_it_starts(client, reviewer, accepted):
    client.force_login(reviewer)

    response = client.post(
        _url("testing-plan", accepted),
        _plan_data(starts_on=_day(90), ends_on=_day(30), cadence_days="0"),
    )

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"ends_on", "cadence_days"}
    assert "Checkpoints need at least one day between them." in response.content.decode()
    assert not PlanVersion.objects.exists()


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "field", "message"),
    [
        (-400, 30, "starts_on", "Testing must start within a year of today"),
        (400, 500, "starts_on", "Testing must start within a year of today"),
        (0, 366, "ends_on", "Testing can run for at most 365 days in the sandbox"),
        (-100, -10, "ends_on", "The end date has passed"),
    ],
)
def test_dates_a_regulator_would_not_accept_are_field_errors(
    client, reviewer, accepted, starts_on, ends_on, field, message
):
    client.force_login(reviewer)

    response = client.post(
        _url("testing-plan", accepted), _plan_data(starts_on=_day(starts_on), ends_on=_day(ends_on))
    )

    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    assert response.content.decode().count(message) >= 2  # in the summary and by the field
    assert not PlanVersion.objects.exists()


def test_the_maximum_testing_period_is_a_setting(client, reviewer, accepted, settings):
    settings.MAX_TESTING_DAYS = 90
    client.force_login(reviewer)

    response = client.post(_url("testing-plan", accepted), _plan_data(ends_on=_day(120)))

    assert "at most 90 days" in str(response.context["form"].errors["ends_on"])


def test_the_service_refuses_bad_dates_by_field_whoever_calls_it(reviewer, accepted):
    today = timezone.localdate()
    good = ThresholdSpec("sensitivity", "gte", Decimal("0.9"), Decimal("0.8"))

    def details(start: int, end: int) -> PlanDetails:
        return PlanDetails(
            environment="virtual",
            starts_on=today + timedelta(days=start),
            ends_on=today + timedelta(days=end),
            cadence_days=28,
            thresholds=[good],
        )

    for start, end, field in [(-800, 10, "starts_on"), (10, 5, "ends_on"), (0, 700, "ends_on")]:
        with pytest.raises(ValidationError) as refused:
            plan_version_save(
                application_id=accepted.pk, actor=reviewer, details=details(start, end)
            )
        assert field in refused.value.message_dict
    assert not PlanVersion.objects.exists()


def test_once_testing_has_begun_the_start_date_is_fixed(reviewer):
    application = make_application(S.IN_CONTROLLED_TESTING)
    plan = application.testing_plan
    details = PlanDetails(
        environment=plan.environment,
        starts_on=plan.starts_on + timedelta(days=7),
        ends_on=plan.ends_on,
        cadence_days=plan.cadence_days,
        thresholds=[ThresholdSpec("sensitivity", "gte", Decimal("0.9"), Decimal("0.8"))],
    )

    with pytest.raises(ValidationError) as refused:
        plan_version_save(application_id=application.pk, actor=reviewer, details=details)

    assert "the start date cannot change now" in refused.value.message_dict["starts_on"][0]


def test_a_broken_management_form_is_an_error_not_a_500(client, reviewer, accepted):
    client.force_login(reviewer)
    data = _plan_data()
    del data["thresholds-TOTAL_FORMS"]

    response = client.post(_url("testing-plan", accepted), data)

    assert response.status_code == 200
    assert not PlanVersion.objects.exists()


def test_a_tampered_row_count_is_refused_without_building_the_rows(client, reviewer, accepted):
    client.force_login(reviewer)

    response = client.post(
        _url("testing-plan", accepted), _plan_data(**{"thresholds-TOTAL_FORMS": "100000"})
    )

    assert response.status_code == 200
    formset = response.context["formset"]
    assert len(formset.forms) <= 20
    assert "Please submit at most 20 forms." in formset.non_form_errors()
    assert not PlanVersion.objects.exists()


@pytest.mark.parametrize("state", [S.SCREENING, S.EVIDENCE_REVIEW, S.CLEARED])
def test_the_plan_cannot_change_outside_acceptance_and_testing(client, reviewer, state):
    application = make_application(state)
    client.force_login(reviewer)

    plan = Plan.objects.filter(application=application).first()
    dates = {"starts_on": f"{plan.starts_on}", "ends_on": f"{plan.ends_on}"} if plan else {}
    versions = PlanVersion.objects.count()

    page = client.get(_url("testing-plan", application)).content.decode()
    response = client.post(_url("testing-plan", application), _plan_data(**dates), follow=True)

    assert "Save as a draft" not in page
    assert PlanVersion.objects.count() == versions
    assert "The testing plan is agreed between acceptance and the end of testing" in (
        response.content.decode()
    )


def test_the_service_checks_the_plan_too(reviewer, manufacturer, organisation):
    application = make_application(S.ACCEPTED, organisation=organisation)
    good = ThresholdSpec("sensitivity", "gte", Decimal("0.9"), Decimal("0.8"))
    today = timezone.localdate()
    details = PlanDetails(
        environment="virtual",
        starts_on=today,
        ends_on=today + timedelta(days=120),
        cadence_days=28,
        thresholds=[good],
    )

    with pytest.raises(PermissionError):
        plan_version_save(application_id=application.pk, actor=manufacturer, details=details)
    for broken, message in (
        (PlanDetails(**{**details.__dict__, "thresholds": []}), "at least one"),
        (
            PlanDetails(
                **{
                    **details.__dict__,
                    "thresholds": [
                        ThresholdSpec("sensitivity", "gte", Decimal("0.9"), Decimal("0.95"))
                    ],
                }
            ),
            "below it",
        ),
    ):
        with pytest.raises(TransitionRefused, match=message):
            plan_version_save(application_id=application.pk, actor=reviewer, details=broken)


def test_the_form_starts_an_amendment_from_the_plan_in_force(client, reviewer):
    application = make_application(S.IN_CONTROLLED_TESTING)
    plan = application.testing_plan
    client.force_login(reviewer)

    page = client.get(_url("testing-plan", application)).content.decode()

    # Dates in the GOV.UK date input's three boxes; thresholds read as people write them.
    assert (
        f'name="starts_on_day" type="text" inputmode="numeric" value="{plan.starts_on.day}"' in page
    )
    assert (
        f'name="starts_on_year" type="text" inputmode="numeric" value="{plan.starts_on.year}"'
        in page
    )
    assert 'value="0.9"' in page
    assert 'value="0.8"' in page
    assert "Remove this threshold" in page
    assert "Propose an amendment" in page
