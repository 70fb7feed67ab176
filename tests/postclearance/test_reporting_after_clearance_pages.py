"""The pages for reporting after clearance: both sides' case pages offer (or point to)
incident reports and model changes on a monitored cleared case and not otherwise; the
manufacturer's forms take them, or say where to report when no plan covers the device; the
reviewer's decision on a held change offers no "suspend testing"; the timeline shows them."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from devices.models import IncidentReport, OrganisationRole
from reviews.model_changes import ChangeDetails, model_change_notify
from reviews.models import ChangeKind, ModelChange, ModelChangeStatus
from tests.factories import make_manufacturer
from tests.postclearance.reporting_helpers import cleared_adaptive, set_up
from tests.test_api import api_for

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 6, 1)
INCIDENT = {
    "severity": "other_serious",
    "occurred_on": "2026-05-30",
    "aware_on": "2026-05-31",
    "description": "A report impression left out a new nodule; caught at the weekly audit.",
    "actions_taken": "The site re-read every report from that week.",
}
CHANGE = {
    "kind": ChangeKind.RETRAINING,
    "version_label": "3.0",
    "released_on": "2026-06-01",
    "description": "Retrained on the first quarter of real-world data.",
    "validation_figures": "sensitivity, 960/1000",
    "evidence_0": "VR-9",
}


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime(2026, 6, 1, 10, tzinfo=LONDON), tick=False):
        yield


@pytest.fixture
def cleared(organisation, manufacturer, reviewer):
    return cleared_adaptive(organisation, reviewer)


@pytest.fixture
def monitored(cleared, lead_reviewer):
    set_up(cleared, lead_reviewer, starts_on=TODAY)
    return cleared


def _page(client, user, name, application) -> str:
    client.force_login(user)
    response = client.get(reverse(name, args=[application.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_manufacturers_case_page_offers_both_actions_under_monitoring(
    client, manufacturer, monitored
):
    page = _page(client, manufacturer, "devices:application-detail", monitored)
    assert "Report a serious incident" in page
    assert reverse("devices:incident-report", args=[monitored.pk]) in page
    assert "Notify a model change" in page
    assert 'class="govuk-button govuk-button--warning' in page


def test_the_manufacturers_case_page_offers_neither_without_a_plan(client, manufacturer, cleared):
    page = _page(client, manufacturer, "devices:application-detail", cleared)
    assert "Report a serious incident" not in page
    assert "Notify a model change" not in page


def test_a_viewer_of_the_organisation_is_offered_neither(client, organisation, monitored):
    viewer = make_manufacturer(organisation, org_role=OrganisationRole.VIEWER)
    page = _page(client, viewer, "devices:application-detail", monitored)
    assert "Under post-clearance monitoring" in page
    assert "Report a serious incident" not in page


def test_the_testing_page_offers_incidents_until_the_plan_ends(client, manufacturer, monitored):
    page = _page(client, manufacturer, "devices:testing", monitored)
    assert "Report a serious incident" in page
    ends_on = monitored.monitoring_plans.get().ends_on
    day_after = datetime.combine(ends_on + timedelta(days=1), time(10), tzinfo=LONDON)
    with time_machine.travel(day_after, tick=False):
        assert "Report a serious incident" not in _page(
            client, manufacturer, "devices:testing", monitored
        )


def test_an_incident_is_reported_from_the_page_under_monitoring(client, manufacturer, monitored):
    client.force_login(manufacturer)
    response = client.post(reverse("devices:incident-report", args=[monitored.pk]), INCIDENT)

    assert response.status_code == 302
    incident = IncidentReport.objects.get(application=monitored)
    assert incident.report_due_on == date(2026, 6, 15)
    page = client.get(reverse("devices:application-timeline", args=[monitored.pk]))
    assert "Serious incident reported: other serious incident" in page.content.decode()
    assert "serious incident by" in page.content.decode()


def test_the_incident_page_says_where_to_report_without_a_plan(client, manufacturer, cleared):
    client.force_login(manufacturer)
    url = reverse("devices:incident-report", args=[cleared.pk])
    for response in (client.get(url, follow=True), client.post(url, INCIDENT, follow=True)):
        assert response.redirect_chain[-1][0] == reverse("devices:testing", args=[cleared.pk])
        assert "Manufacturer&#x27;s Online Reporting Environment (MORE)" in (
            response.content.decode()
        )
    assert not IncidentReport.objects.exists()


def test_the_model_changes_page_takes_a_change_under_monitoring(client, manufacturer, monitored):
    assert "Notify the change" in _page(client, manufacturer, "devices:model-changes", monitored)
    response = client.post(reverse("devices:model-changes", args=[monitored.pk]), CHANGE)
    assert response.status_code == 302
    assert ModelChange.objects.get().status == ModelChangeStatus.RECORDED


def test_the_model_changes_page_explains_a_refusal_without_a_plan(client, manufacturer, cleared):
    page = _page(client, manufacturer, "devices:model-changes", cleared)
    assert "Notify the change" not in page
    assert "Tell the MHRA about a significant change" in page
    response = client.post(reverse("devices:model-changes", args=[cleared.pk]), CHANGE)
    assert response.status_code == 200
    assert not ModelChange.objects.exists()


@pytest.fixture
def held(manufacturer, monitored):
    return model_change_notify(
        actor=manufacturer,
        application_id=monitored.pk,
        details=ChangeDetails(
            kind=ChangeKind.NEW_USE,
            version_label="3.0",
            released_on=TODAY,
            description="Extended to chest CT.",
            validation_metrics={"sensitivity": {"successes": 960, "trials": 1000}},
            evidence={"Validation report": "VR-9"},
        ),
    )


def test_the_reviewers_decision_on_a_cleared_case_offers_no_suspension(client, reviewer, held):
    client.force_login(reviewer)
    url = reverse("reviews:model-change", args=[held.pk])
    page = client.get(url).content.decode()
    assert 'value="accept"' in page
    assert 'value="refuse"' in page
    assert 'value="suspend"' not in page
    assert "there is no testing to suspend" in page

    response = client.post(url, {"decision": "suspend", "reason": "Unsafe."})

    assert response.status_code == 200
    assert response.context["form"].errors["decision"]
    held.refresh_from_db()
    assert held.status == ModelChangeStatus.HELD


def test_the_reviewers_decision_during_testing_still_offers_suspension(
    client, organisation, manufacturer, reviewer
):
    case = cleared_adaptive(organisation, reviewer)
    type(case).objects.filter(pk=case.pk).update(state="in_controlled_testing")
    held = model_change_notify(
        actor=manufacturer,
        application_id=case.pk,
        details=ChangeDetails(
            kind=ChangeKind.NEW_USE,
            version_label="3.0",
            released_on=TODAY,
            description="Extended to chest CT.",
            evidence={"Validation report": "VR-9"},
        ),
    )
    client.force_login(reviewer)
    assert (
        'value="suspend"'
        in client.get(reverse("reviews:model-change", args=[held.pk])).content.decode()
    )


def test_the_reviewers_case_page_points_to_what_arrives_under_monitoring(
    client, reviewer, monitored
):
    page = _page(client, reviewer, "reviews:application", monitored)
    assert "incidents, signals and model changes" in page


def test_the_reviewers_case_page_says_nothing_of_it_without_a_plan(client, reviewer, cleared):
    page = _page(client, reviewer, "reviews:application", cleared)
    assert "incidents, signals and model changes" not in page


def test_the_reviewers_timeline_shows_an_incident_after_clearance(
    client, manufacturer, reviewer, monitored
):
    client.force_login(manufacturer)
    client.post(reverse("devices:incident-report", args=[monitored.pk]), INCIDENT)
    page = _page(client, reviewer, "reviews:application", monitored)
    assert "Serious incident reported: other serious incident" in page


def _api_change(manufacturer, application):
    return api_for(manufacturer).post(
        f"/api/applications/{application.reference}/model-changes/",
        {
            "kind": "retraining",
            "version_label": "3.0",
            "released_on": "2026-06-01",
            "description": "Retrained on the first quarter of real-world data.",
            "validation_metrics": {"sensitivity": {"successes": 960, "trials": 1000}},
            "evidence": {"Validation report": "VR-9"},
        },
        format="json",
    )


def test_the_api_takes_a_change_under_monitoring(manufacturer, monitored):
    response = _api_change(manufacturer, monitored)
    assert response.status_code == 201
    assert response.json()["status"] == "recorded"


def test_the_api_refuses_a_change_without_a_plan_and_says_why(manufacturer, cleared):
    response = _api_change(manufacturer, cleared)
    assert response.status_code == 409
    assert "this device is not under one" in response.json()["detail"]
    assert not ModelChange.objects.exists()


def test_the_pages_read_in_a_fixed_number_of_queries_however_many_incidents(
    client, manufacturer, monitored, django_assert_max_num_queries
):
    # Measured with one incident (13, 15, 13 queries): five must need no more.
    bounds = {"devices:application-detail": 13, "devices:testing": 15}
    bounds["devices:application-timeline"] = 13
    client.force_login(manufacturer)
    for _ in range(5):
        client.post(reverse("devices:incident-report", args=[monitored.pk]), INCIDENT)
    assert IncidentReport.objects.count() == 5
    for name, bound in bounds.items():
        url = reverse(name, args=[monitored.pk])
        client.get(url)
        with django_assert_max_num_queries(bound):
            assert client.get(url).status_code == 200
