import pytest
from django.urls import reverse

from devices.models import ApplicationEvent, ApplicationState
from tests.factories import make_application

pytestmark = pytest.mark.django_db


def _transition_url(application, name):
    return reverse(
        "admin:devices_application_transition",
        kwargs={"object_id": application.pk, "transition_name": name},
    )


def test_it_lists_applications_in_the_admin(client, admin_user, django_assert_max_num_queries):
    for _ in range(3):
        make_application(ApplicationState.SUBMITTED)
    client.force_login(admin_user)

    with django_assert_max_num_queries(12):
        response = client.get(reverse("admin:devices_application_changelist"))

    assert response.status_code == 200
    assert response.content.decode().count("AIA-2026-") >= 3


def test_an_admin_transition_goes_through_the_service_and_is_audited(client, admin_user):
    application = make_application(ApplicationState.SUBMITTED)
    client.force_login(admin_user)

    response = client.post(
        _transition_url(application, "start_screening"), {"reason": "Screening by admin."}
    )

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == ApplicationState.SCREENING
    event = ApplicationEvent.objects.get(application=application)
    assert (event.actor, event.reason) == (admin_user, "Screening by admin.")


def test_an_admin_transition_that_needs_a_reason_shows_a_field_error(client, admin_user):
    application = make_application(ApplicationState.SCREENING)
    client.force_login(admin_user)

    response = client.post(_transition_url(application, "reject"), {"reason": ""})

    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    application.refresh_from_db()
    assert application.state == ApplicationState.SCREENING


def test_a_refused_admin_transition_says_why_and_changes_nothing(client, admin_user):
    application = make_application(ApplicationState.DRAFT)
    application.evidence.update(is_current=False)
    client.force_login(admin_user)

    response = client.post(_transition_url(application, "submit"), {"reason": ""}, follow=True)

    assert "Upload the required evidence first" in response.content.decode()
    application.refresh_from_db()
    assert application.state == ApplicationState.DRAFT
    assert not ApplicationEvent.objects.exists()


def test_the_audit_trail_cannot_be_edited_or_deleted_in_the_admin(client, admin_user):
    application = make_application(ApplicationState.SUBMITTED)
    client.force_login(admin_user)
    client.post(_transition_url(application, "start_screening"), {"reason": "ok"})
    event = ApplicationEvent.objects.get()

    change = client.post(
        reverse("admin:devices_applicationevent_change", args=[event.pk]), {"reason": "edited"}
    )
    delete = client.post(
        reverse("admin:devices_applicationevent_delete", args=[event.pk]), {"post": "yes"}
    )

    assert change.status_code == 403
    assert delete.status_code == 403
    event.refresh_from_db()
    assert event.reason == "ok"


def test_the_audit_trail_refuses_edits_and_deletes_in_code(admin_user):
    application = make_application(ApplicationState.SUBMITTED)
    event = ApplicationEvent.objects.create(
        application=application,
        actor=admin_user,
        transition="start_screening",
        from_state="submitted",
        to_state="screening",
    )

    event.reason = "rewritten"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        ApplicationEvent.objects.filter(pk=event.pk).update(reason="rewritten")
    with pytest.raises(PermissionError):
        ApplicationEvent.objects.filter(pk=event.pk).delete()


@pytest.mark.parametrize(
    "model",
    [
        "devices_device",
        "devices_organisation",
        "devices_evidencedocument",
        "devices_applicationevent",
        "reviews_cohort",
        "reviews_eligibilitycriterion",
        "reviews_testingplan",
        "reviews_checkpoint",
        "reviews_safetysignal",
        "reviews_decision",
        "airlock_user",
    ],
)
def test_every_admin_changelist_loads(client, admin_user, model):
    make_application(ApplicationState.EVIDENCE_REVIEW)
    client.force_login(admin_user)

    assert client.get(reverse(f"admin:{model}_changelist")).status_code == 200


def test_an_admin_acceptance_records_the_decision_like_the_site(client, admin_user):
    from reviews.models import Decision
    from tests.factories import CohortFactory

    application = make_application(ApplicationState.SCREENING)
    cohort = CohortFactory()
    client.force_login(admin_user)

    client.post(
        _transition_url(application, "accept"), {"cohort": cohort.pk, "reason": "Eligible."}
    )

    application.refresh_from_db()
    assert (application.state, application.cohort) == (ApplicationState.ACCEPTED, cohort)
    assert Decision.objects.get(application=application).rationale == "Eligible."


def test_an_admin_information_request_stores_the_questions(client, admin_user):
    application = make_application(ApplicationState.SCREENING)
    client.force_login(admin_user)

    client.post(
        _transition_url(application, "request_information"),
        {"questions": "Which sites?", "due_on": "2099-01-15"},
    )

    application.refresh_from_db()
    assert application.state == ApplicationState.INFORMATION_REQUESTED
    assert application.open_information_request().questions == "Which sites?"


def test_an_admin_cannot_countersign_their_own_clearance(client, admin_user):
    from reviews.models import Decision

    application = make_application(ApplicationState.EVIDENCE_REVIEW)
    Decision.objects.filter(application=application).update(decided_by=admin_user)
    client.force_login(admin_user)

    response = client.post(_transition_url(application, "clear"), {"reason": ""}, follow=True)

    application.refresh_from_db()
    assert application.state == ApplicationState.EVIDENCE_REVIEW
    assert response.status_code == 200


@pytest.mark.parametrize("name", ["save", "no_such_transition"])
def test_an_admin_transition_address_that_names_no_transition_is_not_found(
    client, admin_user, name
):
    application = make_application(ApplicationState.SUBMITTED)
    client.force_login(admin_user)

    assert client.get(_transition_url(application, name)).status_code == 404
    assert client.post(_transition_url(application, name)).status_code == 404
