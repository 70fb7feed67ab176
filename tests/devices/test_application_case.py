"""The manufacturer's case page: its summary, withdrawing, answering information requests, messages
and the timeline."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from devices.models import (
    REQUIRED_EVIDENCE,
    ApplicationEvent,
    ApplicationState,
    Message,
)
from reviews.models import InformationRequest, InternalNote
from tests.devices.application_helpers import own_application
from tests.factories import (
    UserFactory,
    add_evidence,
)

pytestmark = pytest.mark.django_db


# --- The case page ---------------------------------------------------------------------------


def test_the_case_page_shows_summary_actions_evidence_and_messages(client, manufacturer):
    application = own_application(manufacturer, ApplicationState.INFORMATION_REQUESTED)
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
    application = own_application(manufacturer, ApplicationState.SCREENING)
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
    application = own_application(manufacturer, ApplicationState.SUBMITTED)
    client.force_login(reviewer)

    response = client.get(reverse("devices:application-detail", args=[application.pk]))

    assert response.status_code == 302
    assert response.url == reverse("reviews:application", args=[application.pk])


def test_an_anonymous_visitor_is_sent_to_sign_in(client, manufacturer):
    application = own_application(manufacturer)
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
    application = own_application(manufacturer, ApplicationState.SCREENING)
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
    application = own_application(manufacturer, ApplicationState.SCREENING)
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
    application = own_application(manufacturer, ApplicationState.SCREENING)
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
    application = own_application(manufacturer, ApplicationState.REJECTED)
    client.force_login(manufacturer)

    response = client.get(
        reverse("devices:application-withdraw", args=[application.pk]), follow=True
    )

    assert "only possible when an application is not yet decided" in response.content.decode()


def test_withdraw_refuses_other_methods(client, manufacturer):
    application = own_application(manufacturer, ApplicationState.SCREENING)
    client.force_login(manufacturer)
    url = reverse("devices:application-withdraw", args=[application.pk])
    assert client.put(url).status_code == 405
    assert client.delete(url).status_code == 405


# --- Information requests --------------------------------------------------------------------


def test_it_answers_an_information_request(client, manufacturer):
    application = own_application(manufacturer, ApplicationState.INFORMATION_REQUESTED)
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
    application = own_application(manufacturer, ApplicationState.INFORMATION_REQUESTED)
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
    application = own_application(manufacturer, ApplicationState.SCREENING)
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
    application = own_application(manufacturer, ApplicationState.SCREENING)
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
    application = own_application(manufacturer, ApplicationState.SCREENING)
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
    application = own_application(manufacturer, ApplicationState.SCREENING)
    client.force_login(manufacturer)
    url = reverse("devices:message-create", args=[application.pk])

    full = client.post(url, {"body": "  "})
    partial = client.post(url, {"body": ""}, headers={"HX-Request": "true"})

    assert full.status_code == 200
    assert full.context["message_form"].errors["body"] == ["Write a message before sending."]
    assert "Write a message before sending." in partial.content.decode()
    assert not Message.objects.exists()


def test_messages_are_post_only(client, manufacturer):
    application = own_application(manufacturer, ApplicationState.SCREENING)
    client.force_login(manufacturer)
    assert client.get(reverse("devices:message-create", args=[application.pk])).status_code == 405


# --- Timeline --------------------------------------------------------------------------------


def test_the_timeline_shows_every_transition_and_message_but_no_internal_notes(
    client, manufacturer, reviewer
):
    application = own_application(manufacturer)
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
    application = own_application(manufacturer, ApplicationState.INFORMATION_REQUESTED)
    client.force_login(manufacturer)
    args = [application.pk, 1] if name == "devices:application-step" else [application.pk]

    assert getattr(client, method)(reverse(name, args=args)).status_code == 405


def test_the_case_page_links_to_testing_once_accepted(client, manufacturer):
    testing = own_application(manufacturer, ApplicationState.IN_CONTROLLED_TESTING)
    screening = own_application(manufacturer, ApplicationState.SCREENING)
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
    application = own_application(manufacturer, state)
    client.force_login(manufacturer)

    response = client.post(reverse(name, args=[application.pk]))

    assert response.status_code == 200
    assert field in response.context["form"].errors
