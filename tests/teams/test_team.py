"""The organisation's team: invitations by email, joining, role changes and removal, all
audited; only the organisation's administrators manage it."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from airlock.models import User
from devices.models import Membership, OrganisationRole
from devices.selectors import applications_for
from teams import services
from teams.models import Invitation, TeamEvent, TeamEventKind
from tests.factories import TEST_PASSWORD, UserFactory, make_application, make_manufacturer

pytestmark = pytest.mark.django_db


@pytest.fixture
def contributor(organisation):
    return make_manufacturer(organisation, org_role="contributor", email="contrib@example.test")


def _invite(manufacturer, email="new@example.test", role="contributor", capture=None):
    with capture(execute=True):
        return services.invitation_send(actor=manufacturer, email=email, role=role)


def _link(message) -> str:
    return re.search(r"https?://\S+/join/(\S+)/", message.body).group(1)


def test_it_emails_an_invitation_and_audits_it(manufacturer, django_capture_on_commit_callbacks):
    invitation = _invite(manufacturer, capture=django_capture_on_commit_callbacks)

    (message,) = mail.outbox
    assert message.to == ["new@example.test"]
    assert "Demo Diagnostics Ltd" in message.subject
    assert "as contributor" in message.body
    assert _link(message)
    assert invitation.token_sha256 not in message.body
    event = TeamEvent.objects.get()
    assert (event.kind, event.subject, event.actor) == (
        TeamEventKind.INVITED,
        "new@example.test",
        manufacturer,
    )


def test_it_makes_an_account_from_the_link(
    client, manufacturer, django_capture_on_commit_callbacks
):
    _invite(manufacturer, capture=django_capture_on_commit_callbacks)
    token = _link(mail.outbox[0])
    url = reverse("teams:join", args=[token])
    assert "Join Demo Diagnostics Ltd" in client.get(url).content.decode()

    response = client.post(
        url, {"full_name": "Nia Jones", "password1": TEST_PASSWORD, "password2": TEST_PASSWORD}
    )

    assert response.status_code == 302
    user = User.objects.get(email="new@example.test")
    assert user.membership.organisation == manufacturer.membership.organisation
    assert user.membership.role == OrganisationRole.CONTRIBUTOR
    assert user.is_manufacturer
    assert TeamEvent.objects.filter(kind=TeamEventKind.JOINED, subject=user.email).exists()
    # Used once.
    client.logout()
    assert client.get(url).status_code == 404


def test_it_refuses_a_link_once_it_expires(
    client, manufacturer, django_capture_on_commit_callbacks
):
    _invite(manufacturer, capture=django_capture_on_commit_callbacks)
    url = reverse("teams:join", args=[_link(mail.outbox[0])])

    with time_machine.travel(timezone.now() + timedelta(days=8)):
        response = client.post(
            url, {"full_name": "Nia", "password1": TEST_PASSWORD, "password2": TEST_PASSWORD}
        )

    assert response.status_code == 404
    assert not User.objects.filter(email="new@example.test").exists()


def test_it_shows_form_errors_for_a_weak_password(
    client, manufacturer, django_capture_on_commit_callbacks
):
    _invite(manufacturer, capture=django_capture_on_commit_callbacks)
    url = reverse("teams:join", args=[_link(mail.outbox[0])])

    response = client.post(url, {"full_name": "Nia", "password1": "123", "password2": "123"})

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert not User.objects.filter(email="new@example.test").exists()


def test_it_lets_an_existing_account_join_only_as_the_address_invited(
    client, manufacturer, django_capture_on_commit_callbacks
):
    invited = UserFactory(email="new@example.test")
    stranger = UserFactory(email="someone@example.test")
    _invite(manufacturer, capture=django_capture_on_commit_callbacks)
    token = _link(mail.outbox[0])

    with pytest.raises(services.TeamRefused, match="another address"):
        services.invitation_accept(token=token, user=stranger)
    membership = services.invitation_accept(token=token, user=invited)

    assert membership.organisation == manufacturer.membership.organisation


def test_it_refuses_an_account_that_belongs_to_an_organisation(
    manufacturer, other_manufacturer, django_capture_on_commit_callbacks
):
    _invite(
        manufacturer, email=other_manufacturer.email, capture=django_capture_on_commit_callbacks
    )

    with pytest.raises(services.TeamRefused, match="one organisation only"):
        services.invitation_accept(token=_link(mail.outbox[0]), user=other_manufacturer)


@pytest.mark.parametrize("role", ["contributor", "viewer"])
def test_it_refuses_anyone_but_an_administrator(organisation, role):
    person = make_manufacturer(organisation, org_role=role)
    member = make_manufacturer(organisation, org_role="viewer")

    with pytest.raises(PermissionError):
        services.invitation_send(actor=person, email="x@example.test", role="viewer")
    with pytest.raises(PermissionError):
        services.membership_role_change(
            actor=person, membership_id=member.membership.pk, role="administrator"
        )
    with pytest.raises(PermissionError):
        services.membership_remove(actor=person, membership_id=member.membership.pk)

    assert not Invitation.objects.exists()
    assert not TeamEvent.objects.exists()


def test_it_changes_a_role_and_audits_it(manufacturer, contributor):
    services.membership_role_change(
        actor=manufacturer, membership_id=contributor.membership.pk, role="viewer"
    )

    contributor.membership.refresh_from_db()
    assert contributor.membership.role == OrganisationRole.VIEWER
    event = TeamEvent.objects.get()
    assert event.kind == TeamEventKind.ROLE_CHANGED
    assert event.detail == "From contributor to viewer."


def test_it_keeps_one_administrator(manufacturer):
    with pytest.raises(services.TeamRefused, match="only administrator"):
        services.membership_role_change(
            actor=manufacturer, membership_id=manufacturer.membership.pk, role="viewer"
        )
    with pytest.raises(services.TeamRefused, match="only administrator"):
        services.membership_remove(actor=manufacturer, membership_id=manufacturer.membership.pk)


def test_it_removes_a_member_who_then_sees_nothing(client, manufacturer, contributor, organisation):
    application = make_application(organisation=organisation)
    assert list(applications_for(contributor)) == [application]

    services.membership_remove(actor=manufacturer, membership_id=contributor.membership.pk)

    contributor = User.objects.get(pk=contributor.pk)
    assert not Membership.objects.filter(user=contributor).exists()
    assert not applications_for(contributor).exists()
    assert TeamEvent.objects.get().kind == TeamEventKind.REMOVED
    client.force_login(contributor)
    assert client.get(reverse("devices:application-detail", args=[application.pk])).status_code in {
        403,
        404,
    }


def test_it_cannot_touch_another_organisation_s_member(manufacturer, other_manufacturer, client):
    with pytest.raises(Membership.DoesNotExist):
        services.membership_remove(
            actor=manufacturer, membership_id=other_manufacturer.membership.pk
        )
    client.force_login(manufacturer)
    url = reverse("teams:member-remove", args=[other_manufacturer.membership.pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404


def test_the_team_page_lists_members_and_lets_an_administrator_invite(
    client, manufacturer, contributor, django_capture_on_commit_callbacks
):
    client.force_login(manufacturer)
    page = client.get(reverse("teams:team")).content.decode()
    assert contributor.email in page
    assert "Invite a colleague" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("teams:invite"), {"email": "nia@example.test", "role": "viewer"}
        )

    assert response.status_code == 302
    assert mail.outbox[0].to == ["nia@example.test"]
    assert "nia@example.test" in client.get(reverse("teams:team")).content.decode()


def test_the_team_page_shows_form_errors(client, manufacturer):
    client.force_login(manufacturer)

    response = client.post(reverse("teams:invite"), {"email": "not an address", "role": "boss"})

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert not Invitation.objects.exists()


def test_a_contributor_sees_the_team_but_cannot_manage_it(client, contributor):
    client.force_login(contributor)

    page = client.get(reverse("teams:team"))

    assert page.status_code == 200
    assert "Invite a colleague" not in page.content.decode()
    assert (
        client.post(
            reverse("teams:invite"), {"email": "a@example.test", "role": "viewer"}
        ).status_code
        == 403
    )


def test_it_changes_a_role_and_cancels_an_invitation_from_the_page(
    client, manufacturer, contributor, django_capture_on_commit_callbacks
):
    invitation = _invite(manufacturer, capture=django_capture_on_commit_callbacks)
    client.force_login(manufacturer)

    client.post(reverse("teams:member-role", args=[contributor.membership.pk]), {"role": "viewer"})
    client.post(reverse("teams:invitation-cancel", args=[invitation.pk]))

    contributor.membership.refresh_from_db()
    invitation.refresh_from_db()
    assert contributor.membership.role == "viewer"
    assert invitation.cancelled_at is not None
    assert client.get(reverse("teams:join", args=[_link(mail.outbox[0])])).status_code == 404
