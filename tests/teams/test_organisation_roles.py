"""Roles in an organisation: a viewer reads, and every service that changes the
manufacturer's side refuses them (not only the pages)."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from devices import services
from devices.models import Application, ApplicationState, Device, EvidenceDocument, Message
from devices.selectors import applications_for
from devices.uploads import inspect_upload
from reviews.models import Checkpoint
from reviews.monitoring.incidents import incident_report_submit
from reviews.monitoring.reports import checkpoint_report_submit
from reviews.plans import plan_version_agree
from tests.factories import DeviceFactory, make_application, make_manufacturer

pytestmark = pytest.mark.django_db

VIEWER_REFUSAL = "only its administrators and contributors can change its records"


@pytest.fixture
def viewer(organisation):
    return make_manufacturer(organisation, org_role="viewer", email="viewer@example.test")


@pytest.fixture
def contributor(organisation):
    return make_manufacturer(organisation, org_role="contributor", email="contrib@example.test")


@pytest.fixture
def draft(organisation, manufacturer):
    return make_application(
        ApplicationState.DRAFT, organisation=organisation, created_by=manufacturer
    )


def test_it_lets_a_viewer_read_the_organisation_s_cases(viewer, draft, client):
    assert list(applications_for(viewer)) == [draft]
    client.force_login(viewer)

    page = client.get(reverse("devices:application-detail", args=[draft.pk]))

    assert page.status_code == 200
    assert draft.reference in page.content.decode()


def test_it_refuses_a_viewer_a_new_draft_or_device(viewer, organisation):
    with pytest.raises(PermissionError, match=VIEWER_REFUSAL):
        services.application_create(actor=viewer)
    device = DeviceFactory.build(organisation=organisation, created_by=viewer)
    device.pk = None
    with pytest.raises(PermissionError, match=VIEWER_REFUSAL):
        services.device_save(actor=viewer, device=device)
    assert not Application.objects.exists()


def test_it_refuses_a_viewer_an_edit_of_a_draft_or_its_device(viewer, draft):
    with pytest.raises(PermissionError):
        services.application_update_draft(
            application=draft, actor=viewer, regulatory_challenge="Changed"
        )
    with pytest.raises(PermissionError):
        services.device_save(actor=viewer, device=draft.device)
    draft.refresh_from_db()
    assert draft.regulatory_challenge != "Changed"
    assert Device.objects.count() == 1


def test_it_refuses_a_viewer_an_upload(viewer, draft):
    upload = inspect_upload(SimpleUploadedFile("risk.pdf", b"%PDF-1.7\nrisk"))
    before = EvidenceDocument.objects.count()

    with pytest.raises(PermissionError):
        services.evidence_upload(application=draft, actor=viewer, kind="other", upload=upload)

    assert EvidenceDocument.objects.count() == before


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (ApplicationState.DRAFT, "submit"),
        (ApplicationState.SCREENING, "withdraw"),
        (ApplicationState.INFORMATION_REQUESTED, "respond"),
    ],
)
def test_it_refuses_a_viewer_every_manufacturer_transition(viewer, organisation, state, action):
    application = make_application(state, organisation=organisation)

    with pytest.raises(services.TransitionRefused, match=VIEWER_REFUSAL):
        services.application_transition(
            application_id=application.pk, action=action, actor=viewer, reason="Because."
        )

    application.refresh_from_db()
    assert application.state == state


def test_it_lets_a_contributor_submit(contributor, organisation):
    application = make_application(ApplicationState.DRAFT, organisation=organisation)

    services.application_transition(
        application_id=application.pk, action="submit", actor=contributor
    )

    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED


def test_it_refuses_a_viewer_a_message(viewer, draft):
    with pytest.raises(PermissionError):
        services.message_post(application=draft, author=viewer, body="Hello")
    assert not Message.objects.exists()


def test_it_refuses_a_viewer_reports_incidents_and_plan_agreement(viewer, organisation):
    testing = make_application(ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation)
    checkpoint = Checkpoint.objects.create(
        application=testing, sequence=1, due_on=timezone.localdate()
    )
    with pytest.raises(PermissionError, match=VIEWER_REFUSAL):
        checkpoint_report_submit(
            actor=viewer, checkpoint_id=checkpoint.pk, cases_processed=10, metrics={}
        )
    with pytest.raises(PermissionError, match=VIEWER_REFUSAL):
        incident_report_submit(
            actor=viewer,
            application_id=testing.pk,
            severity="other_serious",
            occurred_on=timezone.localdate() - timedelta(days=1),
            aware_on=timezone.localdate(),
            description="A fall.",
        )
    accepted = make_application(ApplicationState.ACCEPTED, organisation=organisation)
    with pytest.raises(PermissionError, match=VIEWER_REFUSAL):
        plan_version_agree(application_id=accepted.pk, actor=viewer, number=1, revision=1)


@pytest.mark.parametrize(
    "name",
    ["devices:device-create", "devices:application-start"],
)
def test_it_shows_a_viewer_no_form_pages(client, viewer, name):
    client.force_login(viewer)

    assert client.get(reverse(name)).status_code == 403


def test_it_refuses_a_viewer_s_post_on_a_read_page(client, viewer, draft):
    client.force_login(viewer)

    response = client.post(reverse("devices:application-submit", args=[draft.pk]))

    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.state == ApplicationState.DRAFT
