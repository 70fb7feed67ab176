from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from devices.models import ApplicationState
from devices.services import TransitionRefused, application_transition
from reviews import services
from reviews.models import MetricThreshold
from reviews.models import TestingPlan as Plan  # not "Test…": pytest would try to collect it
from reviews.services import PlanDetails, ThresholdSpec
from tests.factories import make_application

S = ApplicationState


def _url(name: str, application) -> str:
    return reverse(f"reviews:{name}", args=[application.pk])


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
        "starts_on": "2026-09-01",
        "ends_on": "2027-03-01",
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
    plan = Plan.objects.get(application=accepted)
    assert (plan.starts_on, plan.ends_on, plan.cadence_days) == (
        date(2026, 9, 1),
        date(2027, 3, 1),
        28,
    )
    assert (plan.drafted_by, plan.agreed_at) == (actor, None)
    thresholds = {t.metric: t for t in plan.thresholds.all()}
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

    plan = Plan.objects.get()
    assert [t.metric for t in plan.thresholds.all()] == ["sensitivity"]


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
            "greater than or equal to 0",
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
    assert not Plan.objects.exists()


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
    assert not Plan.objects.exists()


def test_testing_must_end_after_it_starts(client, reviewer, accepted):
    client.force_login(reviewer)

    response = client.post(
        _url("testing-plan", accepted),
        _plan_data(starts_on="2027-03-01", ends_on="2026-09-01", cadence_days="0"),
    )

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"ends_on", "cadence_days"}
    assert not Plan.objects.exists()


def test_a_broken_management_form_is_an_error_not_a_500(client, reviewer, accepted):
    client.force_login(reviewer)
    data = _plan_data()
    del data["thresholds-TOTAL_FORMS"]

    response = client.post(_url("testing-plan", accepted), data)

    assert response.status_code == 200
    assert not Plan.objects.exists()


def test_a_tampered_row_count_is_refused_without_building_the_rows(client, reviewer, accepted):
    client.force_login(reviewer)

    response = client.post(
        _url("testing-plan", accepted), _plan_data(**{"thresholds-TOTAL_FORMS": "100000"})
    )

    assert response.status_code == 200
    formset = response.context["formset"]
    assert len(formset.forms) <= 20
    assert "Please submit at most 20 forms." in formset.non_form_errors()
    assert not Plan.objects.exists()


def test_agreeing_then_beginning_testing(client, reviewer, lead_reviewer, accepted):
    client.force_login(reviewer)
    client.post(_url("testing-plan", accepted), _plan_data())
    before = client.get(_url("application", accepted)).content.decode()
    client.force_login(lead_reviewer)

    response = client.post(_url("testing-plan-agree", accepted), {"expected_state": S.ACCEPTED})

    assert "Agree a testing plan (with its metric thresholds) first." in before
    assert response.status_code == 302
    plan = Plan.objects.get()
    assert plan.agreed_by == lead_reviewer
    assert plan.agreed_at is not None
    client.post(reverse("reviews:transition", args=[accepted.pk, "begin_testing"]))
    accepted.refresh_from_db()
    assert accepted.state == S.IN_CONTROLLED_TESTING


def test_editing_an_agreed_plan_before_testing_unagrees_it(client, reviewer, lead_reviewer):
    application = make_application(S.ACCEPTED)
    client.force_login(reviewer)

    response = client.post(_url("testing-plan", application), _plan_data(), follow=True)

    plan = Plan.objects.get()
    assert plan.agreed_at is None
    assert plan.agreed_by is None
    assert "needs agreeing again" in response.content.decode()
    with pytest.raises(TransitionRefused, match="Agree a testing plan"):
        application_transition(
            application_id=application.pk, action="begin_testing", actor=reviewer
        )


def test_editing_during_testing_keeps_the_plan_agreed_by_the_editor(client, reviewer):
    application = make_application(S.IN_CONTROLLED_TESTING)
    client.force_login(reviewer)

    client.post(_url("testing-plan", application), _plan_data(ends_on="2027-06-01"))

    plan = Plan.objects.get()
    assert plan.ends_on == date(2027, 6, 1)
    assert plan.agreed_by == reviewer
    assert MetricThreshold.objects.filter(plan=plan).count() == 2


def test_agreeing_twice_or_without_a_plan_is_refused(client, reviewer, accepted):
    client.force_login(reviewer)

    response = client.post(_url("testing-plan-agree", accepted), follow=True)
    assert "Draft the testing plan first." in response.content.decode()

    client.post(_url("testing-plan", accepted), _plan_data())
    services.testing_plan_agree(application_id=accepted.pk, actor=reviewer)
    with pytest.raises(TransitionRefused, match="agreed this plan on"):
        services.testing_plan_agree(application_id=accepted.pk, actor=reviewer)


@pytest.mark.parametrize("state", [S.SCREENING, S.EVIDENCE_REVIEW, S.CLEARED])
def test_the_plan_cannot_change_outside_acceptance_and_testing(client, reviewer, state):
    application = make_application(state)
    client.force_login(reviewer)

    page = client.get(_url("testing-plan", application)).content.decode()
    response = client.post(_url("testing-plan", application), _plan_data(), follow=True)

    assert "Save the plan" not in page
    assert "change the testing plan only while" in response.content.decode()


def test_the_service_checks_the_plan_too(reviewer, manufacturer, organisation):
    application = make_application(S.ACCEPTED, organisation=organisation)
    good = ThresholdSpec("sensitivity", "gte", Decimal("0.9"), Decimal("0.8"))
    details = PlanDetails(
        environment="virtual",
        starts_on=date(2026, 9, 1),
        ends_on=date(2027, 3, 1),
        cadence_days=28,
        thresholds=[good],
    )

    with pytest.raises(PermissionError):
        services.testing_plan_save(
            application_id=application.pk, actor=manufacturer, details=details
        )
    with pytest.raises(PermissionError):
        services.testing_plan_agree(application_id=application.pk, actor=manufacturer)
    for broken, message in (
        (PlanDetails(**{**details.__dict__, "thresholds": []}), "at least one"),
        (PlanDetails(**{**details.__dict__, "ends_on": date(2026, 9, 1)}), "end after"),
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
            services.testing_plan_save(
                application_id=application.pk, actor=reviewer, details=broken
            )


def test_the_form_shows_the_saved_plan_as_browsers_expect(client, reviewer):
    application = make_application(S.IN_CONTROLLED_TESTING)
    plan = application.testing_plan
    client.force_login(reviewer)

    page = client.get(_url("testing-plan", application)).content.decode()

    # Date inputs only accept ISO dates; thresholds read as people write them.
    assert f'value="{plan.starts_on:%Y-%m-%d}"' in page
    assert 'value="0.9"' in page
    assert 'value="0.8"' in page
    assert "Remove this threshold" in page
