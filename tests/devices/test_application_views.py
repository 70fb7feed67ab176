from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from devices.models import (
    REQUIRED_EVIDENCE,
    Application,
    ApplicationEvent,
    ApplicationState,
    Maturity,
    Message,
    SandboxEnvironment,
)
from notifications.models import Notification
from reviews.models import InformationRequest, InternalNote
from tests.factories import (
    ApplicationFactory,
    DeviceFactory,
    UserFactory,
    add_evidence,
    make_application,
    make_manufacturer,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def organisation_device(manufacturer):
    return DeviceFactory(organisation=manufacturer.membership.organisation, name="LungScan AI")


def _own_application(manufacturer, state=ApplicationState.DRAFT, **kwargs):
    return make_application(state, organisation=manufacturer.membership.organisation, **kwargs)


def _blank_draft(manufacturer):
    return ApplicationFactory(
        organisation=manufacturer.membership.organisation,
        device=None,
        regulatory_challenge="",
        sandbox_environment="",
        patient_benefit="",
        maturity="",
        nhs_sites="",
        created_by=manufacturer,
    )


# --- Dashboard -------------------------------------------------------------------------------


def test_the_dashboard_shows_drafts_and_open_requests_with_due_dates(
    client, manufacturer, organisation_device
):
    draft = _own_application(manufacturer)
    asked = _own_application(manufacturer, ApplicationState.INFORMATION_REQUESTED)
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
        _own_application(manufacturer, state)
    client.force_login(manufacturer)
    client.get(reverse("devices:home"))
    # Session, user, organisation, applications, devices, the seven "needs your attention"
    # lists and the header's unread count: a fixed number, however many cases.
    with django_assert_max_num_queries(16) as few:
        client.get(reverse("devices:home"))

    for state in [ApplicationState.SUBMITTED, ApplicationState.SCREENING] * 5:
        _own_application(manufacturer, state)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("devices:home"))
    assert response.content.decode().count("AIA-2026-") >= 12


def test_the_dashboard_and_lists_are_for_manufacturers_only(client, reviewer, user_without_role):
    for user in (reviewer, user_without_role):
        client.force_login(user)
        assert client.get(reverse("devices:home")).status_code == 403
        assert client.get(reverse("devices:application-list")).status_code == 403


def test_the_application_list_shows_state_tags(client, manufacturer):
    application = _own_application(manufacturer, ApplicationState.SCREENING)
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
    application = _blank_draft(manufacturer)
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:application-step", args=[application.pk, 2]), {"continue": ""}
    )

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"regulatory_challenge", "patient_benefit"}


def test_save_as_draft_keeps_a_partial_step_and_returns_to_the_dashboard(client, manufacturer):
    application = _blank_draft(manufacturer)
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
    application = _blank_draft(manufacturer)
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
    application = _own_application(manufacturer, ApplicationState.SUBMITTED)
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
    application = _own_application(manufacturer)
    client.force_login(manufacturer)
    for step in (0, 5):
        url = reverse("devices:application-step", args=[application.pk, step])
        assert client.get(url).status_code == 404


# --- Review and submit -----------------------------------------------------------------------


def test_the_review_page_lists_everything_missing(client, manufacturer):
    application = _blank_draft(manufacturer)
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
    application = _own_application(manufacturer)
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
    application = _own_application(manufacturer, ApplicationState.SUBMITTED)
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:application-submit", args=[application.pk]), follow=True
    )

    assert "Someone else changed this application" in response.content.decode()
    assert not ApplicationEvent.objects.exists()


def test_submit_takes_a_confirmation_page_then_a_post(client, manufacturer):
    application = _own_application(manufacturer)
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


# --- The case page ---------------------------------------------------------------------------


def test_the_case_page_shows_summary_actions_evidence_and_messages(client, manufacturer):
    application = _own_application(manufacturer, ApplicationState.INFORMATION_REQUESTED)
    Message.objects.create(
        application=application,
        author=UserFactory(full_name="Rita Reviewer"),
        from_regulator=True,
        body="Thanks for applying.",
    )
    client.force_login(manufacturer)

    response = client.get(reverse("devices:application-detail", args=[application.pk]))

    body = response.content.decode()
    assert response.status_code == 200
    assert {a["name"] for a in response.context["actions"]} == {"respond", "withdraw"}
    assert "Which NHS sites have agreed to take part?" in body
    assert "Thanks for applying." in body
    assert "Risk management file (ISO 14971)" in body
    assert application.evidence.first().sha256[:12] in body
    assert reverse("devices:application-timeline", args=[application.pk]) in body
    assert ApplicationState.INFORMATION_REQUESTED.label in body


def test_the_case_page_query_count_does_not_grow_with_evidence(
    client, manufacturer, django_assert_max_num_queries
):
    application = _own_application(manufacturer, ApplicationState.SCREENING)
    url = reverse("devices:application-detail", args=[application.pk])
    client.force_login(manufacturer)
    client.get(url)
    with django_assert_max_num_queries(12) as few:
        client.get(url)

    for kind in REQUIRED_EVIDENCE:
        application.evidence.filter(kind=kind).update(is_current=False)
        add_evidence(application, kind, version=2)
    for n in range(5):
        Message.objects.create(
            application=application, author=manufacturer, from_regulator=False, body=f"Note {n}"
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert "Earlier versions (1)" in response.content.decode()


def test_a_reviewer_opening_the_case_link_goes_to_the_review_page(client, reviewer, manufacturer):
    application = _own_application(manufacturer, ApplicationState.SUBMITTED)
    client.force_login(reviewer)

    response = client.get(reverse("devices:application-detail", args=[application.pk]))

    assert response.status_code == 302
    assert response.url == reverse("reviews:application", args=[application.pk])


def test_an_anonymous_visitor_is_sent_to_sign_in(client, manufacturer):
    application = _own_application(manufacturer)
    url = reverse("devices:application-detail", args=[application.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


def test_a_missing_application_is_404(client, manufacturer):
    client.force_login(manufacturer)
    for name in [
        "devices:application-detail",
        "devices:application-timeline",
        "devices:application-review",
        "devices:application-withdraw",
        "devices:application-respond",
        "devices:evidence-upload",
    ]:
        assert client.get(reverse(name, args=[999999])).status_code == 404, name


# --- Withdraw --------------------------------------------------------------------------------


def test_it_withdraws_with_a_reason(client, manufacturer):
    application = _own_application(manufacturer, ApplicationState.SCREENING)
    client.force_login(manufacturer)
    url = reverse("devices:application-withdraw", args=[application.pk])
    assert "Withdraw application" in client.get(url).content.decode()

    response = client.post(
        url, {"reason": "Product pivot.", "expected_state": ApplicationState.SCREENING}
    )

    assert response.url == reverse("devices:application-detail", args=[application.pk])
    application.refresh_from_db()
    assert application.state == ApplicationState.WITHDRAWN
    assert ApplicationEvent.objects.get(application=application).reason == "Product pivot."


def test_withdraw_needs_a_reason_as_a_field_error(client, manufacturer):
    application = _own_application(manufacturer, ApplicationState.SCREENING)
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:application-withdraw", args=[application.pk]),
        {"reason": "   ", "expected_state": ApplicationState.SCREENING},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == ["Give a reason for withdrawing."]
    application.refresh_from_db()
    assert application.state == ApplicationState.SCREENING


def test_withdraw_on_a_stale_page_changes_nothing(client, manufacturer):
    application = _own_application(manufacturer, ApplicationState.SCREENING)
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:application-withdraw", args=[application.pk]),
        {"reason": "Changed our minds.", "expected_state": ApplicationState.SUBMITTED},
        follow=True,
    )

    assert "Not withdrawn. Someone else changed this application" in response.content.decode()
    application.refresh_from_db()
    assert application.state == ApplicationState.SCREENING


def test_a_decided_application_cannot_be_withdrawn(client, manufacturer):
    application = _own_application(manufacturer, ApplicationState.REJECTED)
    client.force_login(manufacturer)

    response = client.get(
        reverse("devices:application-withdraw", args=[application.pk]), follow=True
    )

    assert "only possible when an application is not yet decided" in response.content.decode()


def test_withdraw_refuses_other_methods(client, manufacturer):
    application = _own_application(manufacturer, ApplicationState.SCREENING)
    client.force_login(manufacturer)
    url = reverse("devices:application-withdraw", args=[application.pk])
    assert client.put(url).status_code == 405
    assert client.delete(url).status_code == 405


# --- Information requests --------------------------------------------------------------------


def test_it_answers_an_information_request(client, manufacturer):
    application = _own_application(manufacturer, ApplicationState.INFORMATION_REQUESTED)
    client.force_login(manufacturer)
    url = reverse("devices:application-respond", args=[application.pk])
    page = client.get(url).content.decode()
    assert "Which NHS sites have agreed to take part?" in page

    response = client.post(
        url,
        {
            "response": "Leeds and Bradford have agreed.",
            "expected_state": ApplicationState.INFORMATION_REQUESTED,
        },
    )

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == ApplicationState.SCREENING
    request = InformationRequest.objects.get(application=application)
    assert request.response == "Leeds and Bradford have agreed."
    assert request.responded_by == manufacturer


def test_a_response_is_required(client, manufacturer):
    application = _own_application(manufacturer, ApplicationState.INFORMATION_REQUESTED)
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:application-respond", args=[application.pk]),
        {"response": "", "expected_state": ApplicationState.INFORMATION_REQUESTED},
    )

    assert response.status_code == 200
    assert "response" in response.context["form"].errors
    application.refresh_from_db()
    assert application.state == ApplicationState.INFORMATION_REQUESTED


def test_there_is_nothing_to_answer_without_an_open_request(client, manufacturer):
    application = _own_application(manufacturer, ApplicationState.SCREENING)
    client.force_login(manufacturer)

    response = client.get(
        reverse("devices:application-respond", args=[application.pk]), follow=True
    )

    assert response.redirect_chain[-1][0] == reverse(
        "devices:application-detail", args=[application.pk]
    )
    assert "only possible when an application is waiting for information from the manufacturer" in (
        response.content.decode()
    )


# --- Messages --------------------------------------------------------------------------------


def test_it_posts_a_message(client, manufacturer):
    application = _own_application(manufacturer, ApplicationState.SCREENING)
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:message-create", args=[application.pk]), {"body": "Any news?"}
    )

    assert response.status_code == 302
    message = Message.objects.get(application=application)
    assert (message.author, message.from_regulator, message.body) == (
        manufacturer,
        False,
        "Any news?",
    )


def test_it_posts_a_message_with_htmx_and_swaps_the_section(client, manufacturer):
    application = _own_application(manufacturer, ApplicationState.SCREENING)
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:message-create", args=[application.pk]),
        {"body": "Any news?"},
        headers={"HX-Request": "true"},
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="messages"')
    assert "Any news?" in body
    assert "Message sent." in body


def test_an_empty_message_is_a_field_error(client, manufacturer):
    application = _own_application(manufacturer, ApplicationState.SCREENING)
    client.force_login(manufacturer)
    url = reverse("devices:message-create", args=[application.pk])

    full = client.post(url, {"body": "  "})
    partial = client.post(url, {"body": ""}, headers={"HX-Request": "true"})

    assert full.status_code == 200
    assert full.context["message_form"].errors["body"] == ["Write a message before sending."]
    assert "Write a message before sending." in partial.content.decode()
    assert not Message.objects.exists()


def test_messages_are_post_only(client, manufacturer):
    application = _own_application(manufacturer, ApplicationState.SCREENING)
    client.force_login(manufacturer)
    assert client.get(reverse("devices:message-create", args=[application.pk])).status_code == 405


# --- Timeline --------------------------------------------------------------------------------


def test_the_timeline_shows_every_transition_and_message_but_no_internal_notes(
    client, manufacturer, reviewer
):
    application = _own_application(manufacturer)
    client.force_login(manufacturer)
    client.post(reverse("devices:application-submit", args=[application.pk]))
    Message.objects.create(
        application=application,
        author=reviewer,
        from_regulator=True,
        body="We have your application.",
        created_at=timezone.now() + timedelta(minutes=1),
    )
    InternalNote.objects.create(
        application=application, author=reviewer, body="Secret: looks weak."
    )

    response = client.get(reverse("devices:application-timeline", args=[application.pk]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Draft → Submitted" in body
    assert "We have your application." in body
    assert "Secret" not in body
    assert body.index("Draft → Submitted") < body.index("We have your application.")
    assert "<ol" in body


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("devices:application-detail", "post"),
        ("devices:application-timeline", "post"),
        ("devices:application-review", "post"),
        ("devices:application-step", "put"),
        ("devices:application-respond", "delete"),
    ],
)
def test_case_pages_refuse_the_wrong_method(client, manufacturer, name, method):
    application = _own_application(manufacturer, ApplicationState.INFORMATION_REQUESTED)
    client.force_login(manufacturer)
    args = [application.pk, 1] if name == "devices:application-step" else [application.pk]

    assert getattr(client, method)(reverse(name, args=args)).status_code == 405


def test_the_case_page_links_to_testing_once_accepted(client, manufacturer):
    testing = _own_application(manufacturer, ApplicationState.IN_CONTROLLED_TESTING)
    screening = _own_application(manufacturer, ApplicationState.SCREENING)
    client.force_login(manufacturer)

    def page(application):
        return client.get(reverse("devices:application-detail", args=[application.pk]))

    assert reverse("devices:testing", args=[testing.pk]) in page(testing).content.decode()
    assert reverse("devices:testing", args=[screening.pk]) not in page(screening).content.decode()


@pytest.mark.parametrize(
    ("name", "state", "field"),
    [
        ("devices:application-withdraw", ApplicationState.SCREENING, "reason"),
        ("devices:application-respond", ApplicationState.INFORMATION_REQUESTED, "response"),
        ("devices:evidence-upload", ApplicationState.SCREENING, "file"),
    ],
)
def test_an_empty_post_shows_required_errors_not_a_blank_form(
    client, manufacturer, name, state, field
):
    application = _own_application(manufacturer, state)
    client.force_login(manufacturer)

    response = client.post(reverse(name, args=[application.pk]))

    assert response.status_code == 200
    assert field in response.context["form"].errors
