import pytest
from django.urls import reverse

from devices.models import ApplicationState
from devices.services import TransitionRefused
from reviews.models import Assignment, ConflictOfInterest
from reviews.services import application_claim, conflict_declare
from tests.factories import make_application

S = ApplicationState
CONFLICTS = reverse("reviews:conflicts")


@pytest.mark.parametrize("persona", ["reviewer", "lead_reviewer"])
def test_reviewers_declare_a_conflict_and_lose_sight_of_its_cases(client, request, persona):
    actor = request.getfixturevalue(persona)
    application = make_application(S.SCREENING)
    client.force_login(actor)
    client.post(reverse("reviews:claim", args=[application.pk]))

    response = client.post(
        CONFLICTS,
        {"organisation": application.organisation.pk, "reason": "I advised them in 2025."},
        follow=True,
    )

    conflict = ConflictOfInterest.objects.get()
    assert (conflict.reviewer, conflict.organisation) == (actor, application.organisation)
    page = response.content.decode()
    assert "I advised them in 2025." in page
    application.refresh_from_db()
    assert application.assignee is None
    assert Assignment.objects.get().ended_at is not None
    assert client.get(reverse("reviews:application", args=[application.pk])).status_code == 404
    assert application.reference not in client.get(reverse("reviews:queue")).content.decode()


def test_a_conflicted_reviewer_cannot_claim(reviewer):
    application = make_application(S.SUBMITTED)
    conflict_declare(actor=reviewer, organisation=application.organisation, reason="Shares.")

    with pytest.raises(PermissionError, match="conflict of interest"):
        application_claim(application_id=application.pk, actor=reviewer)
    assert not Assignment.objects.exists()


def test_the_form_offers_only_organisations_not_yet_declared(client, reviewer):
    application = make_application(S.SUBMITTED)
    conflict_declare(actor=reviewer, organisation=application.organisation, reason="Shares.")
    client.force_login(reviewer)

    response = client.post(
        CONFLICTS, {"organisation": application.organisation.pk, "reason": "Again."}
    )

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"organisation"}
    assert ConflictOfInterest.objects.count() == 1
    with pytest.raises(TransitionRefused, match="already declared"):
        conflict_declare(actor=reviewer, organisation=application.organisation, reason="Again.")


def test_a_declaration_needs_an_organisation_and_a_reason(client, reviewer):
    client.force_login(reviewer)

    response = client.post(CONFLICTS, {"organisation": "nope", "reason": ""})

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"organisation", "reason"}
    assert "There is a problem" in response.content.decode()


def test_manufacturers_cannot_declare_conflicts(client, manufacturer, organisation):
    client.force_login(manufacturer)

    assert (
        client.post(CONFLICTS, {"organisation": organisation.pk, "reason": "x"}).status_code == 403
    )
    with pytest.raises(PermissionError):
        conflict_declare(actor=manufacturer, organisation=organisation, reason="x")


def test_the_conflicts_page_refuses_other_methods(client, reviewer):
    client.force_login(reviewer)

    assert client.put(CONFLICTS).status_code == 405


def test_a_reviewer_sees_only_their_own_conflicts(client, reviewer, lead_reviewer):
    application = make_application(S.SUBMITTED)
    conflict_declare(actor=lead_reviewer, organisation=application.organisation, reason="Family.")
    client.force_login(reviewer)

    page = client.get(CONFLICTS).content.decode()

    assert "Family." not in page
    assert "You have not declared any conflicts of interest." in page
