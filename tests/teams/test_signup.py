"""Registering: email confirmed by a one-time link, the organisation checked and waiting for a
reviewer's approval before it can submit, duplicates refused with a way to ask to join, no
telling whether an address has an account, and a limit per network."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from airlock.models import User
from devices.models import ApplicationState, Organisation, OrganisationRole
from devices.services import TransitionRefused, application_transition
from teams.models import SignUp, TeamEvent, TeamEventKind
from teams.signup import company_number_clean, organisation_approve
from tests.factories import TEST_PASSWORD, OrganisationFactory, make_application, make_manufacturer

pytestmark = pytest.mark.django_db

FORM = {
    "email": "Founder@Example.test",
    "full_name": "Fola Founder",
    "password1": TEST_PASSWORD,
    "password2": TEST_PASSWORD,
    "organisation_name": "New Vision AI Ltd",
    "companies_house_number": "sc 123456",
}


def _sign_up(client, capture, **changes):
    with capture(execute=True):
        return client.post(reverse("teams:signup"), {**FORM, **changes})


def _link(message) -> str:
    return re.search(r"https?://\S+(/sign-up/confirm/\S+/)", message.body).group(1)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("01234567", "01234567"),
        ("sc123456", "SC123456"),
        ("NI 012345", "NI012345"),
        ("1234567", None),
        ("123456789", None),
        ("S1234567", None),
        ("ABCDEFGH", None),
        ("\ufb01123456", None),  # the "fi" ligature, which upper() spells FI
        ("\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17", None),  # fullwidth digits
    ],
)
def test_it_checks_the_companies_house_number(typed, expected):
    assert company_number_clean(typed) == expected


def test_it_registers_once_the_email_link_is_used(
    client, django_capture_on_commit_callbacks, reviewer
):
    response = _sign_up(client, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert response.url == reverse("teams:signup-sent")
    assert not User.objects.filter(email="founder@example.test").exists()
    (message,) = mail.outbox
    assert message.to == ["founder@example.test"]
    link = _link(message)
    # Opening the link (a mail scanner might) makes nothing.
    assert client.get(link).status_code == 200
    assert not Organisation.objects.filter(name="New Vision AI Ltd").exists()

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(link)

    assert confirmed.url == reverse("devices:home")
    user = User.objects.get(email="founder@example.test")
    assert user.check_password(TEST_PASSWORD)
    assert user.is_manufacturer
    organisation = user.membership.organisation
    assert (organisation.name, organisation.companies_house_number) == (
        "New Vision AI Ltd",
        "SC123456",
    )
    assert user.membership.role == OrganisationRole.ADMINISTRATOR
    assert not organisation.is_approved
    assert TeamEvent.objects.get().kind == TeamEventKind.REGISTERED
    assert reviewer.email in mail.outbox[-1].to
    # Used once.
    client.logout()
    assert client.get(link).status_code == 404


def test_it_keeps_the_password_only_as_a_hash(client, django_capture_on_commit_callbacks):
    _sign_up(client, django_capture_on_commit_callbacks)

    signup = SignUp.objects.get()
    assert TEST_PASSWORD not in signup.password_hash
    assert signup.password_hash.startswith("md5$")


def test_it_does_not_say_whether_an_address_has_an_account(
    client, manufacturer, django_capture_on_commit_callbacks
):
    response = _sign_up(client, django_capture_on_commit_callbacks, email=manufacturer.email)

    assert response.status_code == 302
    assert response.url == reverse("teams:signup-sent")
    (message,) = mail.outbox
    assert "you have an Airlock account already" in message.body
    assert "/sign-up/confirm/" not in message.body
    assert not SignUp.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"companies_house_number": "12345"}, "companies_house_number"),
        ({"email": "not-an-address"}, "email"),
        ({"email": "ﬁ@example.test"}, "email"),
        ({"password2": "different-password-1"}, "password2"),
        ({"password1": "password", "password2": "password"}, "password1"),
        ({"organisation_name": ""}, "organisation_name"),
    ],
)
def test_it_shows_field_errors(client, changes, field, django_capture_on_commit_callbacks):
    response = _sign_up(client, django_capture_on_commit_callbacks, **changes)

    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert not SignUp.objects.exists()
    assert not mail.outbox


@pytest.mark.parametrize(
    "changes",
    [{"organisation_name": "demo diagnostics LTD"}, {"companies_house_number": "01234567"}],
)
def test_it_refuses_a_duplicate_organisation_and_offers_to_ask_to_join(
    client, manufacturer, changes, django_capture_on_commit_callbacks
):
    Organisation.objects.filter(pk=manufacturer.membership.organisation_id).update(
        companies_house_number="01234567"
    )
    response = _sign_up(client, django_capture_on_commit_callbacks, **changes)

    page = response.content.decode()
    assert "is registered on Airlock already" in page
    assert "Ask to join Demo Diagnostics Ltd" in page
    assert 'value="Demo Diagnostics Ltd"' in page
    assert not SignUp.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(
            reverse("teams:ask-to-join"),
            {
                "join-email": "founder@example.test",
                "join-full_name": "Fola Founder",
                "join-organisation_name": "Demo Diagnostics Ltd",
                "join-companies_house_number": "01234567",
            },
        )

    assert asked.status_code == 200
    (message,) = mail.outbox
    assert message.to == [manufacturer.email]
    assert "founder@example.test" in message.body
    assert TeamEvent.objects.get().kind == TeamEventKind.JOIN_REQUESTED


def test_a_join_request_for_no_organisation_says_so(client):
    response = client.post(
        reverse("teams:ask-to-join"),
        {
            "join-email": "x@example.test",
            "join-full_name": "X",
            "join-organisation_name": "Nobody Ltd",
            "join-companies_house_number": "99999999",
        },
    )

    assert response.status_code == 200
    assert not mail.outbox


def test_it_limits_sign_ups_from_one_network(client, settings, django_capture_on_commit_callbacks):
    settings.SIGNUPS_PER_HOUR = 2
    for n in range(2):
        _sign_up(client, django_capture_on_commit_callbacks, email=f"p{n}@example.test")

    response = _sign_up(client, django_capture_on_commit_callbacks, email="p9@example.test")

    assert response.status_code == 429
    assert "Too many sign-ups" in response.content.decode()
    assert SignUp.objects.count() == 2


def test_an_organisation_waiting_for_approval_cannot_submit(reviewer, manufacturer):
    organisation = OrganisationFactory(name="Waiting Ltd", approved_at=None)
    maker = make_manufacturer(organisation)
    draft = make_application(ApplicationState.DRAFT, organisation=organisation)

    with pytest.raises(TransitionRefused, match="waiting for the regulator to approve"):
        application_transition(application_id=draft.pk, action="submit", actor=maker)
    organisation_approve(actor=reviewer, organisation_id=organisation.pk)
    application_transition(application_id=draft.pk, action="submit", actor=maker)

    draft.refresh_from_db()
    assert draft.state == ApplicationState.SUBMITTED
    assert TeamEvent.objects.filter(kind=TeamEventKind.APPROVED).exists()


def test_only_a_reviewer_approves(
    client, manufacturer, reviewer, django_capture_on_commit_callbacks
):
    organisation = OrganisationFactory(
        name="Waiting Ltd", approved_at=None, companies_house_number="07654321"
    )
    with pytest.raises(PermissionError):
        organisation_approve(actor=manufacturer, organisation_id=organisation.pk)
    client.force_login(manufacturer)
    assert client.get(reverse("teams:organisations")).status_code == 403
    client.force_login(reviewer)
    assert "Waiting Ltd" in client.get(reverse("teams:organisations")).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("teams:organisation-approve", args=[organisation.pk]))

    organisation.refresh_from_db()
    assert organisation.approved_by == reviewer
    assert client.post(reverse("teams:organisation-approve", args=[99999])).status_code == 404
