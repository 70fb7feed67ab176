"""Calls for applications: applications start and submit only against an open call; after it
closes, submitting is refused with a clear message and the draft is kept."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from calls.models import Call
from devices import services
from devices.models import Application, ApplicationState
from tests.factories import CallFactory, CohortFactory, DeviceFactory, make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def call(db):
    return CallFactory()


def _closed_call() -> Call:
    now = timezone.now()
    return Call.objects.create(
        title="Phase 2",
        challenge_areas="Drift",
        opens_at=now - timedelta(days=60),
        closes_at=now - timedelta(days=1),
        capacity=7,
        cohort=CohortFactory(),
    )


def test_it_starts_an_application_only_against_an_open_call(manufacturer, call):
    with pytest.raises(services.TransitionRefused, match="closed on"):
        services.application_create(actor=manufacturer, call=_closed_call())
    with pytest.raises(services.TransitionRefused, match="Choose the call"):
        services.application_create(actor=manufacturer)

    application = services.application_create(actor=manufacturer, call=call)

    assert application.call == call


def test_it_refuses_to_submit_after_the_call_closes_and_keeps_the_draft(manufacturer, organisation):
    draft = make_application(ApplicationState.DRAFT, organisation=organisation)
    closes = draft.call.closes_at

    with time_machine.travel(closes + timedelta(minutes=1)):
        with pytest.raises(services.TransitionRefused) as refused:
            services.application_transition(
                application_id=draft.pk, action="submit", actor=manufacturer
            )
        message = str(refused.value)

    assert f"The call “{draft.call}” closed on" in message
    assert "Your draft is kept." in message
    draft.refresh_from_db()
    assert draft.state == ApplicationState.DRAFT
    assert Application.objects.filter(pk=draft.pk).exists()


def test_it_submits_until_the_closing_moment(manufacturer, organisation):
    draft = make_application(ApplicationState.DRAFT, organisation=organisation)

    with time_machine.travel(draft.call.closes_at - timedelta(seconds=1)):
        services.application_transition(
            application_id=draft.pk, action="submit", actor=manufacturer
        )

    draft.refresh_from_db()
    assert draft.state == ApplicationState.SUBMITTED


def test_the_case_page_says_why_it_cannot_be_submitted(client, manufacturer, organisation):
    # Closing within the hour, so the session (8 hours) is still alive after it.
    closing = CallFactory(title="Closing soon", closes_at=timezone.now() + timedelta(minutes=30))
    draft = make_application(ApplicationState.DRAFT, organisation=organisation, call=closing)
    client.force_login(manufacturer)

    with time_machine.travel(closing.closes_at + timedelta(minutes=1)):
        page = client.get(reverse("devices:application-review", args=[draft.pk])).content.decode()
        response = client.post(reverse("devices:application-submit", args=[draft.pk]), follow=True)

    assert "closed on" in page
    assert "closed on" in response.content.decode()
    draft.refresh_from_db()
    assert draft.state == ApplicationState.DRAFT


def test_the_start_page_says_when_no_call_is_open(client, manufacturer, organisation):
    DeviceFactory(organisation=organisation, created_by=manufacturer)
    Call.objects.update(closes_at=timezone.now() - timedelta(minutes=1))
    client.force_login(manufacturer)

    page = client.get(reverse("devices:application-start")).content.decode()

    assert "No call for applications is open now" in page
    assert "Save and continue" not in page


def test_the_start_page_applies_to_the_one_open_call(client, manufacturer, organisation, call):
    device = DeviceFactory(organisation=organisation, created_by=manufacturer)
    client.force_login(manufacturer)
    assert "AI Airlock phase 3" in client.get(reverse("devices:application-start")).content.decode()

    client.post(
        reverse("devices:application-start"),
        {"device": device.pk, "sandbox_environment": "virtual", "continue": ""},
    )

    assert Application.objects.get().call == call


def test_the_start_page_asks_which_call_when_several_are_open(
    client, manufacturer, organisation, call
):
    device = DeviceFactory(organisation=organisation, created_by=manufacturer)
    second = CallFactory(title="Phase 3 special call")
    client.force_login(manufacturer)

    missing = client.post(
        reverse("devices:application-start"),
        {"device": device.pk, "sandbox_environment": "virtual", "continue": ""},
    )
    assert missing.status_code == 200
    assert missing.context["form"].errors["call"]

    client.post(
        reverse("devices:application-start"),
        {"call": second.pk, "device": device.pk, "sandbox_environment": "virtual", "continue": ""},
    )
    assert Application.objects.get().call == second


def test_a_closed_call_cannot_be_chosen(client, manufacturer, organisation, call):
    device = DeviceFactory(organisation=organisation, created_by=manufacturer)
    CallFactory(title="Another open call")
    closed = _closed_call()
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:application-start"),
        {"call": closed.pk, "device": device.pk, "sandbox_environment": "virtual", "continue": ""},
    )

    assert response.context["form"].errors["call"]
    assert not Application.objects.exists()


def test_the_calls_page_lists_open_coming_and_closed_calls(client, call):
    _closed_call()
    now = timezone.now()
    Call.objects.create(
        title="Phase 4",
        challenge_areas="Adaptive models",
        opens_at=now + timedelta(days=30),
        closes_at=now + timedelta(days=90),
        capacity=5,
        cohort=CohortFactory(name="Phase 4"),
    )

    page = client.get(reverse("calls:list")).content.decode()

    assert page.index("AI Airlock phase 3") < page.index("Opening soon") < page.index("Phase 4")
    assert "Phase 2" in page
    assert "Monitoring performance drift" in page


def test_a_case_is_screened_against_the_criteria_its_call_names(organisation, reviewer):
    """A call names the eligibility criteria its applications must meet: screening asks for
    those (still in use), and a criterion the call does not name is refused."""
    from devices.models import SCREENING_PASSED
    from reviews.models import EligibilityCriterion, ScreeningOutcome
    from reviews.selectors import screening_rows
    from reviews.services import CriterionOutcome, screening_assess

    named, other, retired = (
        EligibilityCriterion.objects.create(code=code, title=code, question="?", is_active=active)
        for code, active in (("named", True), ("other", True), ("retired", False))
    )
    call = CallFactory(title="Named criteria")
    call.eligibility_criteria.set([named, retired])
    application = make_application(ApplicationState.SCREENING, organisation=organisation, call=call)
    application.screening_assessments.all().delete()

    assert [row.criterion for row in screening_rows(application)] == [named]
    with pytest.raises(services.TransitionRefused, match="not one this case's call asks for"):
        screening_assess(
            application_id=application.pk,
            actor=reviewer,
            outcomes=[CriterionOutcome(other.pk, ScreeningOutcome.MET, "Met.")],
        )
    assert not SCREENING_PASSED(application)
    screening_assess(
        application_id=application.pk,
        actor=reviewer,
        outcomes=[CriterionOutcome(named.pk, ScreeningOutcome.MET, "Met.")],
    )
    assert SCREENING_PASSED(application)


def test_a_call_naming_no_criteria_screens_against_every_one_in_use(organisation):
    from reviews.models import EligibilityCriterion
    from reviews.selectors import screening_rows

    application = make_application(ApplicationState.SCREENING, organisation=organisation)

    assert [row.criterion for row in screening_rows(application)] == list(
        EligibilityCriterion.objects.filter(is_active=True)
    )
