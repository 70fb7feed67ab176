"""Formset row counts come from hidden fields anyone can edit (airlock/formsets.py).

The attack: a reviewer posting the evidence review with gmlp-INITIAL_FORMS=-1 (or x) got a 500,
a TypeError in the formset's clean(). The class is covered for every formset the site renders
by tests/fuzz/test_formsets_fuzz.py (test_every_formset_management_value_is_answered_without_error);
these are the attack itself, over HTTP, and what a person sees.
"""

import pytest
from django.urls import reverse

from devices.models import ApplicationState
from reviews.models import EvidenceAssessment, GmlpPrinciple, MetricThreshold
from tests.factories import make_application

pytestmark = pytest.mark.django_db


def _gmlp(**overrides) -> dict:
    data = {"gmlp-TOTAL_FORMS": "10", "gmlp-INITIAL_FORMS": "10"}
    for index, principle in enumerate(GmlpPrinciple):
        data[f"gmlp-{index}-principle"] = str(principle.value)
        data[f"gmlp-{index}-rating"] = "met"
        data[f"gmlp-{index}-comment"] = "Well evidenced."
    return data | overrides


@pytest.fixture
def under_review():
    application = make_application(ApplicationState.EVIDENCE_REVIEW)
    application.decisions.all().delete()
    return application


@pytest.mark.parametrize(
    "tampering",
    [
        {"gmlp-INITIAL_FORMS": "-1"},
        {"gmlp-INITIAL_FORMS": "x"},
        {"gmlp-INITIAL_FORMS": ""},
        {"gmlp-INITIAL_FORMS": "11"},
        {"gmlp-TOTAL_FORMS": "-1"},
        {"gmlp-TOTAL_FORMS": "9"},
        {"gmlp-TOTAL_FORMS": "1", "gmlp-INITIAL_FORMS": "0"},
    ],
)
def test_a_tampered_row_count_is_a_clear_error_not_a_500(client, reviewer, under_review, tampering):
    client.force_login(reviewer)

    response = client.post(
        reverse("reviews:evidence-review", args=[under_review.pk]), _gmlp(**tampering)
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "There is a problem" in page
    assert "Reload the page and enter your changes again" in page
    assert not EvidenceAssessment.objects.exists()


def test_the_initial_rows_stay_required_whatever_initial_forms_says(client, reviewer, under_review):
    """INITIAL_FORMS=0 is a whole number, but the server sent ten rows: they are the rows."""
    client.force_login(reviewer)
    blanks = {f"gmlp-{index}-principle": "" for index in range(10)}

    response = client.post(
        reverse("reviews:evidence-review", args=[under_review.pk]),
        _gmlp(**{"gmlp-INITIAL_FORMS": "0"}, **blanks),
    )

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert not EvidenceAssessment.objects.exists()


def test_honest_counts_still_save(client, reviewer, under_review):
    client.force_login(reviewer)

    response = client.post(reverse("reviews:evidence-review", args=[under_review.pk]), _gmlp())

    assert response.status_code == 302
    assert EvidenceAssessment.objects.count() == len(GmlpPrinciple)


@pytest.mark.parametrize("initial", ["-1", "x", "3"])
def test_the_testing_plan_thresholds_refuse_tampered_counts(client, reviewer, initial):
    application = make_application(ApplicationState.ACCEPTED)
    client.force_login(reviewer)

    response = client.post(
        reverse("reviews:testing-plan", args=[application.pk]),
        {
            "environment": "virtual",
            "starts_on": application.testing_plan.starts_on.isoformat(),
            "ends_on": application.testing_plan.ends_on.isoformat(),
            "cadence_days": "28",
            "thresholds-TOTAL_FORMS": "2",
            "thresholds-INITIAL_FORMS": initial,
            "thresholds-0-metric": "sensitivity",
            "thresholds-0-comparator": "gte",
            "thresholds-0-value": "0.5",
        },
    )

    assert response.status_code == 200
    assert "row counts were changed after the page was sent" in response.content.decode()
    assert MetricThreshold.objects.get(plan__application=application).value != 0.5
