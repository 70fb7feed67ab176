"""The monitoring pages: the lead reviewer's set-up and end-early pages, the case pages of
both sides, the manufacturer's reports (web and API) and the programme dashboard."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from airlock.roles import Role
from devices.model_versions import current_model_version
from devices.models import ApplicationState, CheckpointReport
from postclearance.models import MonitoringPlan, MonitoringStatus
from postclearance.services import MonitoringTerms, monitoring_plan_set_up
from reviews.models import Checkpoint, Metric
from reviews.plan_terms import ThresholdSpec
from tests.factories import UserFactory, make_application

pytestmark = pytest.mark.django_db


def _form(**overrides) -> dict:
    today = timezone.localdate()
    end = today + timedelta(days=365)
    data = {
        "starts_on_day": today.day,
        "starts_on_month": today.month,
        "starts_on_year": today.year,
        "ends_on_day": end.day,
        "ends_on_month": end.month,
        "ends_on_year": end.year,
        "cadence_days": "90",
        "min_sample": "",
        "required_subgroups": "age 65+",
        "equity_gap_limit": "0.08",
        "drift_slack": "",
        "drift_limit": "",
        "notes": "",
        "thresholds-TOTAL_FORMS": "2",
        "thresholds-INITIAL_FORMS": "0",
        "thresholds-MIN_NUM_FORMS": "0",
        "thresholds-MAX_NUM_FORMS": "20",
        "thresholds-0-metric": "sensitivity",
        "thresholds-0-comparator": "gte",
        "thresholds-0-value": "0.9",
        "thresholds-0-critical_value": "0.8",
        "thresholds-0-judged_on": "estimate",
        "thresholds-1-metric": "",
        "thresholds-1-comparator": "gte",
        "thresholds-1-value": "",
        "thresholds-1-critical_value": "",
        "thresholds-1-judged_on": "estimate",
    }
    return data | overrides


@pytest.fixture
def cleared(organisation, manufacturer, reviewer):
    return make_application(ApplicationState.CLEARED, organisation=organisation, assignee=reviewer)


@pytest.fixture
def monitored(cleared, lead_reviewer):
    today = timezone.localdate()
    plan = monitoring_plan_set_up(
        actor=lead_reviewer,
        application_id=cleared.pk,
        terms=MonitoringTerms(
            starts_on=today,
            ends_on=today + timedelta(days=365),
            cadence_days=28,
            thresholds=[ThresholdSpec(Metric.SENSITIVITY, "gte", Decimal("0.9"))],
        ),
    )
    # A checkpoint falling due now, as the sweep would have made it two weeks ago.
    Checkpoint.objects.create(application=cleared, sequence=5, due_on=today, monitoring_plan=plan)
    return plan


def test_a_lead_reviewer_sets_up_monitoring_from_the_page(client, cleared, lead_reviewer):
    client.force_login(lead_reviewer)
    page = client.get(reverse("reviews:monitoring-plan", args=[cleared.pk]))
    assert page.status_code == 200
    assert "Set up a monitoring plan" in page.content.decode()

    response = client.post(reverse("reviews:monitoring-plan", args=[cleared.pk]), _form())

    assert response.status_code == 302
    plan = MonitoringPlan.objects.get(application=cleared)
    assert (plan.cadence_days, plan.equity_gap_limit) == (90, Decimal("0.08"))
    case_page = client.get(reverse("reviews:application", args=[cleared.pk])).content.decode()
    assert "Post-clearance monitoring" in case_page
    assert "a checkpoint every 90 days" in case_page


def test_a_form_with_mistakes_comes_back_with_its_errors_and_saves_nothing(
    client, cleared, lead_reviewer
):
    client.force_login(lead_reviewer)
    today = timezone.localdate()
    response = client.post(
        reverse("reviews:monitoring-plan", args=[cleared.pk]),
        _form(ends_on_day=today.day, ends_on_month=today.month, ends_on_year=today.year),
    )
    assert response.status_code == 200
    assert "Monitoring must end after it starts." in response.content.decode()
    assert not MonitoringPlan.objects.exists()


def test_a_reviewer_sees_the_plan_but_cannot_set_one_up(client, cleared, reviewer):
    client.force_login(reviewer)
    page = client.get(reverse("reviews:monitoring-plan", args=[cleared.pk])).content.decode()
    assert "Set up a monitoring plan" not in page
    response = client.post(reverse("reviews:monitoring-plan", args=[cleared.pk]), _form())
    assert response.status_code == 302
    assert not MonitoringPlan.objects.exists()


def test_the_manufacturer_is_refused_the_reviewer_pages(client, cleared, manufacturer):
    client.force_login(manufacturer)
    assert client.get(reverse("reviews:monitoring-plan", args=[cleared.pk])).status_code == 403


def test_ending_early_asks_for_a_reason_then_ends_the_plan(client, monitored, lead_reviewer):
    client.force_login(lead_reviewer)
    url = reverse("reviews:monitoring-plan-end", args=[monitored.application_id])
    assert "What will happen" in client.get(url).content.decode()

    empty = client.post(url, {"reason": ""})
    assert empty.status_code == 200
    assert "Say why monitoring ends early." in empty.content.decode()

    assert client.post(url, {"reason": "Withdrawn from the market."}).status_code == 302
    monitored.refresh_from_db()
    assert monitored.status == MonitoringStatus.ENDED_EARLY
    # Nothing left to end.
    assert client.get(url).status_code == 404


def test_the_manufacturer_sees_the_plan_and_reports_against_it_on_the_site(
    client, monitored, manufacturer
):
    application = monitored.application
    client.force_login(manufacturer)
    case_page = client.get(reverse("devices:application-detail", args=[application.pk]))
    assert "Under post-clearance monitoring" in case_page.content.decode()
    testing = client.get(reverse("devices:testing", args=[application.pk])).content.decode()
    assert "Post-clearance monitoring" in testing
    report_url = reverse("devices:checkpoint-report", args=[application.pk, 5])
    assert report_url in testing

    response = client.post(
        report_url,
        {
            "cases_processed": "300",
            "successes_sensitivity": "270",
            "trials_sensitivity": "300",
            "model_version": current_model_version(application.device).label,
            "incidents_count": "0",
            "narrative": "Real-world use at two trusts.",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    report = CheckpointReport.objects.get(checkpoint__monitoring_plan=monitored)
    assert report.counts == {"sensitivity": [270, 300]}
    assert report.evaluated_at is not None


def test_the_manufacturer_reports_against_the_plan_through_the_api(client, monitored, manufacturer):
    token = Token.objects.create(user=manufacturer)
    reference = monitored.application.reference
    response = client.post(
        f"/api/applications/{reference}/checkpoints/5/report/",
        {"cases_processed": 300, "metrics": {"sensitivity": {"successes": 240, "trials": 300}}},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.status_code == 201, response.content
    report = CheckpointReport.objects.get(checkpoint__monitoring_plan=monitored)
    assert report.signals.get().severity == "high"  # 0.8 against "at least 0.9"
    detail = client.get(
        f"/api/applications/{reference}/", HTTP_AUTHORIZATION=f"Token {token.key}"
    ).json()
    assert detail["monitoring_plans"][0]["status"] == "Active"
    assert detail["monitoring_plans"][0]["thresholds"][0]["metric"] == "sensitivity"
    assert detail["checkpoints"][-1]["monitoring_plan"] == monitored.pk


def test_the_dashboard_shows_monitoring_as_its_own_stage(
    client, monitored, reviewer, django_assert_max_num_queries
):
    make_application(ApplicationState.CLEARED, organisation=monitored.application.organisation)
    client.force_login(reviewer)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("reviews:dashboard"))
    assert response.context["monitored_count"] == 1
    page = response.content.decode()
    assert "Under post-clearance monitoring" in page
    assert reverse("reviews:monitoring-plan", args=[monitored.application_id]) in page


def test_a_conflicted_lead_sees_no_case_and_no_count(client, monitored):
    conflicted = UserFactory(role=Role.LEAD_REVIEWER)
    conflicted.conflicts.create(
        organisation=monitored.application.organisation, reason="Former employer"
    )
    client.force_login(conflicted)
    assert client.get(reverse("reviews:dashboard")).context["monitored_count"] == 0
    url = reverse("reviews:monitoring-plan", args=[monitored.application_id])
    assert client.get(url).status_code == 404
