"""Observers: read-only access to the cases granted to them and nothing else (no internal
notes, no messages, no evidence unless granted); every view audited."""

import pytest
from django.urls import reverse

from airlock.roles import Role
from devices.models import ApplicationState, Message
from devices.services import TransitionRefused
from observers import services
from observers.models import ObservationEvent, ObservationKind, ObserverGrant
from reviews.models import ConflictOfInterest, InternalNote
from tests.factories import UserFactory, make_application

pytestmark = pytest.mark.django_db

NOTE = "Internal: the reviewers doubt the site data."
MESSAGE = "Please send the site list."


@pytest.fixture
def observer(db):
    return UserFactory(role=Role.OBSERVER, email="nhs@example.test", full_name="Nadia Observer")


@pytest.fixture
def case(organisation, manufacturer, reviewer):
    application = make_application(ApplicationState.SCREENING, organisation=organisation)
    InternalNote.objects.create(application=application, author=reviewer, body=NOTE)
    Message.objects.create(
        application=application, author=reviewer, from_regulator=True, body=MESSAGE
    )
    return application


def test_it_shows_a_granted_case_without_notes_messages_or_evidence(
    client, observer, case, lead_reviewer
):
    services.grant_give(
        actor=lead_reviewer, application_id=case.pk, observer=observer, evidence=False
    )
    client.force_login(observer)

    page = client.get(reverse("observers:application", args=[case.pk])).content.decode()

    assert case.reference in page
    assert NOTE not in page
    assert MESSAGE not in page
    assert "Evidence" not in page
    document = case.evidence.first()
    assert client.get(reverse("observers:evidence-download", args=[document.pk])).status_code == 404
    assert client.get(reverse("devices:evidence-download", args=[document.pk])).status_code == 404
    assert ObservationEvent.objects.filter(kind=ObservationKind.VIEWED_CASE).count() == 1


def test_evidence_only_when_granted_and_each_download_audited(
    client, observer, case, lead_reviewer
):
    services.grant_give(
        actor=lead_reviewer, application_id=case.pk, observer=observer, evidence=True
    )
    client.force_login(observer)
    document = case.evidence.first()

    assert (
        "Evidence" in client.get(reverse("observers:application", args=[case.pk])).content.decode()
    )
    response = client.get(reverse("observers:evidence-download", args=[document.pk]))

    assert response.status_code == 200
    assert response["Content-Security-Policy"].startswith("sandbox")
    event = ObservationEvent.objects.get(kind=ObservationKind.DOWNLOADED)
    assert event.application == case


def test_nothing_else_is_visible(client, observer, case, organisation, lead_reviewer):
    other = make_application(ApplicationState.SCREENING, organisation=organisation)
    services.grant_give(
        actor=lead_reviewer, application_id=case.pk, observer=observer, evidence=True
    )
    client.force_login(observer)

    assert client.get(reverse("observers:application", args=[other.pk])).status_code == 404
    assert client.get(reverse("devices:application-detail", args=[case.pk])).status_code in {
        403,
        404,
    }
    assert client.get(reverse("reviews:application", args=[case.pk])).status_code == 403
    assert client.get(reverse("reviews:queue")).status_code == 403
    listing = client.get(reverse("observers:home")).content.decode()
    assert case.reference in listing
    assert other.reference not in listing
    assert ObservationEvent.objects.filter(kind=ObservationKind.VIEWED_LIST).count() == 1


def test_a_revoked_grant_shows_nothing(client, observer, case, lead_reviewer):
    grant = services.grant_give(
        actor=lead_reviewer, application_id=case.pk, observer=observer, evidence=True
    )
    services.grant_revoke(actor=lead_reviewer, grant_id=grant.pk)
    client.force_login(observer)

    assert client.get(reverse("observers:application", args=[case.pk])).status_code == 404
    assert ObservationEvent.objects.filter(kind=ObservationKind.REVOKED).count() == 1
    with pytest.raises(TransitionRefused):
        services.grant_revoke(actor=lead_reviewer, grant_id=grant.pk)


def test_only_an_unconflicted_lead_or_administrator_grants(
    observer, case, reviewer, lead_reviewer, admin_user, manufacturer, organisation
):
    for person in (reviewer, manufacturer):
        with pytest.raises(PermissionError):
            services.grant_give(
                actor=person, application_id=case.pk, observer=observer, evidence=False
            )
    ConflictOfInterest.objects.create(reviewer=lead_reviewer, organisation=organisation, reason="x")
    with pytest.raises(PermissionError):
        services.grant_give(
            actor=lead_reviewer, application_id=case.pk, observer=observer, evidence=False
        )

    services.grant_give(actor=admin_user, application_id=case.pk, observer=observer, evidence=False)

    assert ObserverGrant.objects.count() == 1


def test_it_grants_only_observers_and_never_a_draft(
    observer, reviewer, lead_reviewer, organisation
):
    draft = make_application(ApplicationState.DRAFT, organisation=organisation)
    submitted = make_application(ApplicationState.SUBMITTED, organisation=organisation)
    with pytest.raises(TransitionRefused, match="draft"):
        services.grant_give(
            actor=lead_reviewer, application_id=draft.pk, observer=observer, evidence=False
        )
    with pytest.raises(TransitionRefused, match="Observer role"):
        services.grant_give(
            actor=lead_reviewer, application_id=submitted.pk, observer=reviewer, evidence=False
        )


def test_the_grants_page_gives_and_revokes(client, observer, case, lead_reviewer, reviewer):
    client.force_login(reviewer)
    assert client.get(reverse("observers:grants", args=[case.pk])).status_code == 403
    client.force_login(lead_reviewer)

    response = client.post(
        reverse("observers:grants", args=[case.pk]), {"observer": observer.pk, "evidence": "on"}
    )

    assert response.status_code == 302
    grant = ObserverGrant.objects.get()
    assert grant.evidence
    client.post(reverse("observers:revoke", args=[case.pk]), {"grant": grant.pk})
    grant.refresh_from_db()
    assert grant.revoked_by == lead_reviewer


def test_the_grants_page_shows_form_errors(client, case, lead_reviewer):
    client.force_login(lead_reviewer)

    response = client.post(reverse("observers:grants", args=[case.pk]), {"observer": "nobody"})

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()


def test_an_observer_lands_on_their_cases(client, observer):
    client.force_login(observer)

    assert client.get(reverse("home")).url == reverse("observers:home")
