"""A lead reviewer or an administrator invites an observer without the Django admin: a
one-time emailed link that expires; opening it makes the account with the Observer role.
Every refusal of observers.invitations is tested on the service, then through the pages."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from airlock.models import User
from airlock.roles import Role
from devices.models import ApplicationState
from observers import invitations, services
from observers.invitations import InvitationRefused
from observers.models import ObservationEvent, ObservationKind, ObserverInvitation
from tests.factories import TEST_PASSWORD, UserFactory, make_application, make_manufacturer

pytestmark = pytest.mark.django_db


def _invite(actor, django_capture_on_commit_callbacks, email="jo@nhs.example") -> str:
    """Invite, send the email, and return the token from the link in it."""
    with django_capture_on_commit_callbacks(execute=True):
        invitations.observer_invite(actor=actor, email=email, body="NHS England")
    return re.search(r"/observe/join/(\S+)/", mail.outbox[-1].body).group(1)


# --- Inviting ------------------------------------------------------------------------------


def test_a_lead_invites_an_observer_by_email_and_it_is_audited(
    lead_reviewer, django_capture_on_commit_callbacks
):
    token = _invite(lead_reviewer, django_capture_on_commit_callbacks, email=" Jo@NHS.example ")

    invitation = ObserverInvitation.objects.get()
    assert invitation.email == "jo@nhs.example"
    assert invitation.token_sha256 != token
    assert mail.outbox[-1].to == ["jo@nhs.example"]
    assert "observer for NHS England" in mail.outbox[-1].body
    assert invitation.expires_at == invitation.created_at + timedelta(days=7)
    event = ObservationEvent.objects.get(kind=ObservationKind.INVITED)
    assert (event.observer, event.actor) == (None, lead_reviewer)
    assert event.detail == "jo@nhs.example, for NHS England."


def test_an_administrator_invites_too(admin_user):
    invitations.observer_invite(actor=admin_user, email="jo@nhs.example", body="NICE")

    assert ObserverInvitation.objects.get().invited_by == admin_user


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.MANUFACTURER, Role.OBSERVER, None])
def test_only_a_lead_or_an_administrator_invites(role):
    with pytest.raises(PermissionError, match="Only a lead reviewer or an administrator"):
        invitations.observer_invite(
            actor=UserFactory(role=role), email="jo@nhs.example", body="NICE"
        )

    assert not ObserverInvitation.objects.exists()


@pytest.mark.parametrize(
    ("email", "body", "message"),
    [
        ("jo@nhs.exampłe", "NICE", "plain letters"),
        ("", "NICE", "plain letters"),
        ("jo@nhs.example", "  ", "Enter the NHS organisation"),
    ],
)
def test_it_refuses_an_address_or_organisation_it_cannot_use(lead_reviewer, email, body, message):
    with pytest.raises(InvitationRefused, match=message):
        invitations.observer_invite(actor=lead_reviewer, email=email, body=body)

    assert not ObserverInvitation.objects.exists()
    assert not ObservationEvent.objects.exists()


def test_it_refuses_an_observer_already_and_an_account_with_another_role(
    lead_reviewer, reviewer, manufacturer
):
    UserFactory(role=Role.OBSERVER, email="seen@nhs.example")

    with pytest.raises(InvitationRefused, match="is an observer already"):
        invitations.observer_invite(actor=lead_reviewer, email="seen@nhs.example", body="NICE")
    with pytest.raises(InvitationRefused, match="regulator's account"):
        invitations.observer_invite(actor=lead_reviewer, email=reviewer.email, body="NICE")
    with pytest.raises(InvitationRefused, match="manufacturer's team"):
        invitations.observer_invite(actor=lead_reviewer, email=manufacturer.email, body="NICE")

    assert not ObserverInvitation.objects.exists()


def test_a_new_invitation_to_the_same_address_replaces_the_pending_one(
    lead_reviewer, django_capture_on_commit_callbacks
):
    first = _invite(lead_reviewer, django_capture_on_commit_callbacks)
    second = _invite(lead_reviewer, django_capture_on_commit_callbacks)

    assert invitations.invitation_for_token(first) is None
    assert invitations.invitation_for_token(second) is not None


# --- Joining -------------------------------------------------------------------------------


def test_the_invited_person_makes_an_observer_account_and_can_then_be_granted_a_case(
    lead_reviewer, organisation, django_capture_on_commit_callbacks
):
    token = _invite(lead_reviewer, django_capture_on_commit_callbacks)

    user = invitations.observer_join_new(token=token, full_name="Jo Nurse", password=TEST_PASSWORD)

    assert user.email == "jo@nhs.example"
    assert user.has_perm(services.OBSERVE)
    assert user.check_password(TEST_PASSWORD)
    invitation = ObserverInvitation.objects.get()
    assert invitation.accepted_by == user
    joined = ObservationEvent.objects.get(kind=ObservationKind.JOINED)
    assert joined.observer == user
    assert joined.detail == "For NHS England, invited by Leo Okafor."
    case = make_application(ApplicationState.SUBMITTED, organisation=organisation)
    grant = services.grant_give(
        actor=lead_reviewer, application_id=case.pk, observer=user, evidence=False
    )
    assert grant.observer == user


def test_a_link_works_once(lead_reviewer, django_capture_on_commit_callbacks):
    token = _invite(lead_reviewer, django_capture_on_commit_callbacks)
    invitations.observer_join_new(token=token, full_name="Jo Nurse", password=TEST_PASSWORD)

    with pytest.raises(InvitationRefused, match="used, cancelled or has expired"):
        invitations.observer_join_new(token=token, full_name="Someone", password=TEST_PASSWORD)


def test_a_link_works_until_the_moment_it_expires(
    lead_reviewer, django_capture_on_commit_callbacks
):
    token = _invite(lead_reviewer, django_capture_on_commit_callbacks)
    expires = ObserverInvitation.objects.get().expires_at

    with time_machine.travel(expires, tick=False):
        assert invitations.invitation_for_token(token) is None
        with pytest.raises(InvitationRefused, match="expired"):
            invitations.observer_join_new(token=token, full_name="Jo", password=TEST_PASSWORD)
    with time_machine.travel(expires - timedelta(seconds=1), tick=False):
        invitations.observer_join_new(token=token, full_name="Jo", password=TEST_PASSWORD)


def test_a_cancelled_link_does_not_work_and_the_cancellation_is_audited(
    lead_reviewer, django_capture_on_commit_callbacks
):
    token = _invite(lead_reviewer, django_capture_on_commit_callbacks)
    invitation = ObserverInvitation.objects.get()

    invitations.observer_invitation_cancel(actor=lead_reviewer, invitation_id=invitation.pk)

    with pytest.raises(InvitationRefused, match="used, cancelled or has expired already"):
        invitations.observer_invitation_cancel(actor=lead_reviewer, invitation_id=invitation.pk)
    with pytest.raises(InvitationRefused):
        invitations.observer_join_new(token=token, full_name="Jo", password=TEST_PASSWORD)
    assert ObservationEvent.objects.filter(kind=ObservationKind.INVITATION_CANCELLED).count() == 1


def test_only_a_lead_or_an_administrator_cancels(
    lead_reviewer, reviewer, django_capture_on_commit_callbacks
):
    _invite(lead_reviewer, django_capture_on_commit_callbacks)

    with pytest.raises(PermissionError):
        invitations.observer_invitation_cancel(
            actor=reviewer, invitation_id=ObserverInvitation.objects.get().pk
        )

    assert ObserverInvitation.objects.get().cancelled_at is None


def test_an_address_with_an_account_signs_in_to_join(
    lead_reviewer, django_capture_on_commit_callbacks
):
    token = _invite(lead_reviewer, django_capture_on_commit_callbacks)
    person = UserFactory(email="jo@nhs.example")

    with pytest.raises(InvitationRefused, match="sign in, then open the link again"):
        invitations.observer_join_new(token=token, full_name="Jo", password=TEST_PASSWORD)
    invitations.observer_join(token=token, user=person)

    assert User.objects.get(pk=person.pk).has_perm(services.OBSERVE)


def test_joining_is_refused_to_another_address_and_to_an_account_with_another_role(
    lead_reviewer, organisation, django_capture_on_commit_callbacks
):
    token = _invite(lead_reviewer, django_capture_on_commit_callbacks)
    stranger = UserFactory(email="someone@else.example")
    # The address made a manufacturer's account after the invitation was sent.
    member = make_manufacturer(organisation, email="jo@nhs.example")

    with pytest.raises(InvitationRefused, match="sent to another address"):
        invitations.observer_join(token=token, user=stranger)
    with pytest.raises(InvitationRefused, match="manufacturer's team"):
        invitations.observer_join(token=token, user=member)

    assert not stranger.has_perm(services.OBSERVE)
    assert ObserverInvitation.objects.get().accepted_at is None


# --- The pages -----------------------------------------------------------------------------


def _persona(name: str, request):
    if name in {"contributor", "viewer"}:
        manufacturer = request.getfixturevalue("manufacturer")
        return make_manufacturer(manufacturer.membership.organisation, org_role=name)
    if name == "observer":
        return UserFactory(role=Role.OBSERVER)
    return request.getfixturevalue(name)


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("manufacturer", 403),
        ("contributor", 403),
        ("viewer", 403),
        ("observer", 403),
        ("reviewer", 403),
        ("lead_reviewer", 200),
        ("admin_user", 200),
    ],
)
def test_only_leads_and_administrators_open_the_observers_page(client, request, persona, status):
    client.force_login(_persona(persona, request))

    assert client.get(reverse("observers:manage")).status_code == status
    response = client.post(reverse("observers:manage"), {"email": "jo@nhs.example", "body": "NICE"})

    assert response.status_code == (302 if status == 200 else status)
    assert ObserverInvitation.objects.exists() == (status == 200)


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse("observers:manage"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_page_invites_lists_and_cancels(
    client, lead_reviewer, django_capture_on_commit_callbacks
):
    UserFactory(role=Role.OBSERVER, full_name="Nadia Observer")
    client.force_login(lead_reviewer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("observers:manage"), {"email": "jo@nhs.example", "body": "NHS England"}
        )
    page = client.get(response.url).content.decode()

    assert "We have emailed an invitation to jo@nhs.example" in page
    assert "Nadia Observer" in page
    assert "NHS England" in page
    invitation = ObserverInvitation.objects.get()
    cancel = client.post(reverse("observers:invitation-cancel", args=[invitation.pk]))
    assert cancel.url == reverse("observers:manage")
    invitation.refresh_from_db()
    assert invitation.cancelled_at is not None
    missing = client.post(reverse("observers:invitation-cancel", args=[invitation.pk + 1]))
    assert missing.status_code == 404


def test_a_refused_invitation_shows_at_the_email_field(client, lead_reviewer, reviewer):
    client.force_login(lead_reviewer)

    response = client.post(reverse("observers:manage"), {"email": reviewer.email, "body": "NICE"})

    assert response.status_code == 200
    assert "regulator&#x27;s account" in response.content.decode()
    assert not ObserverInvitation.objects.exists()


def test_the_link_makes_the_account_and_signs_the_observer_in(
    client, lead_reviewer, django_capture_on_commit_callbacks
):
    token = _invite(lead_reviewer, django_capture_on_commit_callbacks)
    url = reverse("observers:join", args=[token])

    assert "observer for NHS England" in client.get(url).content.decode()
    mismatched = client.post(
        url, {"full_name": "Jo", "password1": TEST_PASSWORD, "password2": "other"}
    )
    assert mismatched.status_code == 200
    response = client.post(
        url, {"full_name": "Jo Nurse", "password1": TEST_PASSWORD, "password2": TEST_PASSWORD}
    )

    assert response.url == reverse("observers:home")
    assert client.get(reverse("observers:home")).status_code == 200
    assert client.get(url).status_code == 404


def test_an_unknown_link_is_a_404(client):
    assert client.get(reverse("observers:join", args=["nothing"])).status_code == 404


def test_the_link_expired_is_a_404(client, lead_reviewer, django_capture_on_commit_callbacks):
    token = _invite(lead_reviewer, django_capture_on_commit_callbacks)

    with time_machine.travel(timezone.now() + timedelta(days=8)):
        response = client.get(reverse("observers:join", args=[token]))

    assert response.status_code == 404
    assert "does not work" in response.content.decode()
