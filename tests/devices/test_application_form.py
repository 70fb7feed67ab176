"""The manufacturer's dashboard, the multi-step application form, and checking and submitting it."""

import pytest
from django.urls import reverse

from devices.models import (
    REQUIRED_EVIDENCE,
    Application,
    ApplicationEvent,
    ApplicationState,
    Maturity,
    SandboxEnvironment,
)
from notifications.models import Notification
from tests.devices.application_helpers import blank_draft, own_application
from tests.factories import (
    ApplicationFactory,
    DeviceFactory,
    add_evidence,
    make_manufacturer,
)

pytestmark = pytest.mark.django_db


# --- Dashboard -------------------------------------------------------------------------------


def test_the_dashboard_shows_drafts_and_open_requests_with_due_dates(
    client, manufacturer, organisation_device
):
    draft = own_application(manufacturer)
    asked = own_application(manufacturer, ApplicationState.INFORMATION_REQUESTED)
    due = asked.information_requests.get().due_on
    client.force_login(manufacturer)

    response = client.get(reverse("devices:home"))

    body = response.content.decode()
    assert response.status_code == 200
    assert f"Continue {draft.reference}" in body
    assert reverse("devices:application-respond", args=[asked.pk]) in body
    assert f"{due:%-d %B %Y}" in body
    assert ApplicationState.INFORMATION_REQUESTED.label in body
    assert "Demo Diagnostics Ltd" in body
    assert "LungScan AI" in body


def test_the_dashboard_query_count_does_not_grow_with_applications(
    client, manufacturer, django_assert_max_num_queries
):
    for state in [ApplicationState.DRAFT, ApplicationState.INFORMATION_REQUESTED]:
        own_application(manufacturer, state)
    client.force_login(manufacturer)
    client.get(reverse("devices:home"))
    # Session, user, organisation, applications, devices, the seven "needs your attention"
    # lists and the header's unread count: a fixed number, however many cases.
    with django_assert_max_num_queries(16) as few:
        client.get(reverse("devices:home"))

    for state in [ApplicationState.SUBMITTED, ApplicationState.SCREENING] * 5:
        own_application(manufacturer, state)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("devices:home"))
    assert response.content.decode().count("AIA-2026-") >= 12


def test_the_dashboard_and_lists_are_for_manufacturers_only(client, reviewer, user_without_role):
    for user in (reviewer, user_without_role):
        client.force_login(user)
        assert client.get(reverse("devices:home")).status_code == 403
        assert client.get(reverse("devices:application-list")).status_code == 403


def test_the_application_list_shows_state_tags(client, manufacturer):
    application = own_application(manufacturer, ApplicationState.SCREENING)
    client.force_login(manufacturer)

    body = client.get(reverse("devices:application-list")).content.decode()

    assert application.reference in body
    assert f'govuk-tag {ApplicationState.SCREENING.tag}">Screening' in body


# --- The multi-step form ---------------------------------------------------------------------


def test_it_walks_through_the_steps_and_saves_each_one(client, manufacturer, organisation_device):
    client.force_login(manufacturer)

    start = client.post(
        reverse("devices:application-start"),
        {"device": organisation_device.pk, "sandbox_environment": SandboxEnvironment.VIRTUAL},
    )
    application = Application.objects.get()
    assert start.url == reverse("devices:application-step", args=[application.pk, 2])
    assert application.reference.startswith("AIA-")
    assert application.device == organisation_device

    step2 = client.post(
        start.url,
        {"regulatory_challenge": "How to monitor drift?", "patient_benefit": "Earlier diagnosis."},
    )
    assert step2.url == reverse("devices:application-step", args=[application.pk, 3])
    step3 = client.post(
        step2.url, {"maturity": Maturity.RETROSPECTIVE, "nhs_sites": "Leeds Teaching Hospitals"}
    )
    assert step3.url == reverse("devices:application-step", args=[application.pk, 4])

    application.refresh_from_db()
    assert application.regulatory_challenge == "How to monitor drift?"
    assert application.maturity == Maturity.RETROSPECTIVE
    assert application.state == ApplicationState.DRAFT
    step4 = client.get(step3.url)
    assert "Step 4 of 4" in step4.content.decode()
    assert '<h1 class="govuk-heading-l">Evidence</h1>' in step4.content.decode()


def test_continue_needs_every_field_on_the_step(client, manufacturer):
    application = blank_draft(manufacturer)
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:application-step", args=[application.pk, 2]), {"continue": ""}
    )

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"regulatory_challenge", "patient_benefit"}


def test_save_as_draft_keeps_a_partial_step_and_returns_to_the_dashboard(client, manufacturer):
    application = blank_draft(manufacturer)
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:application-step", args=[application.pk, 2]),
        {"regulatory_challenge": "Half an answer", "patient_benefit": "", "save_draft": ""},
    )

    assert response.url == reverse("devices:home")
    application.refresh_from_db()
    assert application.regulatory_challenge == "Half an answer"
    dashboard = client.get(response.url).content.decode()
    assert f"Continue {application.reference}" in dashboard


def test_save_as_draft_still_rejects_bad_choices(client, manufacturer):
    application = blank_draft(manufacturer)
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:application-step", args=[application.pk, 3]),
        {"maturity": "ready-ish", "save_draft": ""},
    )

    assert response.status_code == 200
    assert "maturity" in response.context["form"].errors


def test_it_will_not_attach_another_organisations_device(client, manufacturer, other_manufacturer):
    theirs = DeviceFactory(organisation=other_manufacturer.membership.organisation)
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:application-start"),
        {"device": theirs.pk, "sandbox_environment": SandboxEnvironment.VIRTUAL},
    )

    assert response.status_code == 200
    assert "device" in response.context["form"].errors
    assert not Application.objects.exists()


def test_start_asks_for_a_device_first_when_there_is_none(client, manufacturer):
    client.force_login(manufacturer)

    body = client.get(reverse("devices:application-start")).content.decode()

    assert "Register a device" in body
    assert "Save and continue" not in body


def test_start_preselects_the_device_from_its_page(client, manufacturer, organisation_device):
    client.force_login(manufacturer)

    response = client.get(
        reverse("devices:application-start"), {"device": str(organisation_device.pk)}
    )

    assert response.context["form"].initial["device"] == organisation_device


@pytest.mark.parametrize("device", ["²", "abc", "-1", "9" * 40])
def test_start_ignores_a_device_it_cannot_read(client, manufacturer, organisation_device, device):
    client.force_login(manufacturer)

    response = client.get(reverse("devices:application-start"), {"device": device})

    assert response.status_code == 200
    assert response.context["form"].initial["device"] is None


def test_only_drafts_are_editable(client, manufacturer):
    application = own_application(manufacturer, ApplicationState.SUBMITTED)
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:application-step", args=[application.pk, 2]),
        {"regulatory_challenge": "Changed", "patient_benefit": "Changed"},
    )

    assert response.url == reverse("devices:application-detail", args=[application.pk])
    application.refresh_from_db()
    assert application.regulatory_challenge != "Changed"
    review = client.get(reverse("devices:application-review", args=[application.pk]))
    assert review.status_code == 302


def test_a_step_out_of_range_is_404(client, manufacturer):
    application = own_application(manufacturer)
    client.force_login(manufacturer)
    for step in (0, 5):
        url = reverse("devices:application-step", args=[application.pk, step])
        assert client.get(url).status_code == 404


# --- Review and submit -----------------------------------------------------------------------


def test_the_review_page_lists_everything_missing(client, manufacturer):
    application = blank_draft(manufacturer)
    client.force_login(manufacturer)

    response = client.get(reverse("devices:application-review", args=[application.pk]))

    body = response.content.decode()
    missing = response.context["missing"]
    assert len(missing) == 2
    assert "the device" in missing[0]
    assert "Upload the required evidence first" in missing[1]
    assert "Before you can submit" in body
    assert "Submit application" not in body
    # The task list: what is done, and that check and submit must wait.
    assert 'id="task-2-status"><strong class="govuk-tag govuk-tag--grey">Not yet started' in body
    assert "Cannot start yet" in body


def test_a_complete_draft_can_be_reviewed_and_submitted(client, manufacturer, organisation):
    application = own_application(manufacturer)
    colleague = make_manufacturer(organisation, email="colleague@example.test")
    client.force_login(manufacturer)
    review = client.get(reverse("devices:application-review", args=[application.pk]))
    assert review.context["missing"] == []
    assert "Continue to submit" in review.content.decode()

    confirm = client.get(reverse("devices:application-submit", args=[application.pk]))
    response = client.post(reverse("devices:application-submit", args=[application.pk]))

    page = confirm.content.decode()
    assert "What happens when you submit" in page
    assert "This cannot be undone." in page
    assert response.url == reverse("devices:application-detail", args=[application.pk])
    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED
    event = ApplicationEvent.objects.get(application=application)
    assert (event.from_state, event.to_state, event.actor) == ("draft", "submitted", manufacturer)
    # The colleague is told; the person who submitted is not.
    assert list(Notification.objects.values_list("recipient", "key")) == [
        (colleague.pk, f"event:{event.pk}")
    ]


def test_submitting_without_evidence_is_refused_with_the_reason_and_changes_nothing(
    client, manufacturer
):
    application = ApplicationFactory(
        organisation=manufacturer.membership.organisation, created_by=manufacturer
    )
    add_evidence(application, REQUIRED_EVIDENCE[0])
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:application-submit", args=[application.pk]), follow=True
    )

    application.refresh_from_db()
    assert application.state == ApplicationState.DRAFT
    assert not ApplicationEvent.objects.exists()
    body = response.content.decode()
    assert "Not submitted. Upload the required evidence first" in body
    assert response.redirect_chain[-1][0] == reverse(
        "devices:application-review", args=[application.pk]
    )


def test_submitting_twice_is_refused_kindly(client, manufacturer):
    application = own_application(manufacturer, ApplicationState.SUBMITTED)
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:application-submit", args=[application.pk]), follow=True
    )

    assert "Someone else changed this application" in response.content.decode()
    assert not ApplicationEvent.objects.exists()


def test_submit_takes_a_confirmation_page_then_a_post(client, manufacturer):
    application = own_application(manufacturer)
    client.force_login(manufacturer)
    url = reverse("devices:application-submit", args=[application.pk])

    assert client.put(url).status_code == 405
    assert client.get(url).status_code == 200
    application.refresh_from_db()
    assert application.state == ApplicationState.DRAFT


def test_the_submit_page_sends_an_incomplete_draft_back_to_the_check(client, manufacturer):
    application = ApplicationFactory(
        organisation=manufacturer.membership.organisation, created_by=manufacturer
    )
    client.force_login(manufacturer)

    response = client.get(reverse("devices:application-submit", args=[application.pk]))

    assert response.url == reverse("devices:application-review", args=[application.pk])
