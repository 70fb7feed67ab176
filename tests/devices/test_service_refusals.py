"""Every refusal of the manufacturer-side services, asked of the service itself.

The views in front of these services check the same things, so a service that lost its own
check would still pass every view test; the admin, the API and the scheduled jobs call the
services directly. Each test here names who may not, in which state, or under which condition,
and checks that nothing changed.
"""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from devices.models import (
    FINAL_STATES,
    NON_FINAL_STATES,
    ApplicationState,
    EvidenceDocument,
    EvidenceKind,
    Message,
    OrganisationRole,
)
from devices.selectors import device_is_fixed
from devices.services import (
    TransitionRefused,
    application_create,
    application_transition,
    application_update_draft,
    device_save,
    evidence_upload,
    information_respond,
    lock_application,
    message_post,
)
from devices.uploads import InspectedUpload
from tests.factories import CallFactory, DeviceFactory, make_application, make_manufacturer
from tests.locks import row_locks
from tests.refusals import refused

pytestmark = pytest.mark.django_db

S = ApplicationState
SUBMITTED_STATES = [state for state in S if state != S.DRAFT]
PDF = b"%PDF-1.7\nclinical evaluation"


def pdf_upload() -> InspectedUpload:
    return InspectedUpload(
        file=SimpleUploadedFile("evaluation.pdf", PDF, content_type="application/pdf"),
        name="evaluation.pdf",
        content_type="application/pdf",
    )


def upload(application, actor):
    return evidence_upload(
        application=application,
        actor=actor,
        kind=EvidenceKind.CLINICAL_EVALUATION,
        upload=pdf_upload(),
    )


@pytest.fixture
def former_member(organisation):
    """A member of the organisation whose manufacturer role was taken away."""
    user = make_manufacturer(organisation, email="former@example.test")
    user.groups.clear()
    return type(user).objects.get(pk=user.pk)


# --- Who acts for the organisation -----------------------------------------------------------


def test_it_refuses_every_change_from_a_member_without_the_manufacturer_role(
    organisation, former_member
):
    draft = make_application(S.DRAFT, organisation=organisation)
    submitted = make_application(S.SUBMITTED, organisation=organisation)
    device = draft.device
    device.version = "3.0"
    before = EvidenceDocument.objects.count()

    with pytest.raises(PermissionError):
        application_update_draft(application=draft, actor=former_member, nhs_sites="Nowhere")
    with pytest.raises(PermissionError):
        device_save(actor=former_member, device=device)
    with pytest.raises(PermissionError):
        upload(submitted, former_member)
    with pytest.raises(PermissionError):
        message_post(application=submitted, author=former_member, body="Hello")
    # A transition's refusals, permission included, are TransitionRefused with the reason.
    with pytest.raises(TransitionRefused, match="own team can do this"):
        application_transition(
            application_id=submitted.pk, action="withdraw", actor=former_member, reason="No."
        )

    draft.refresh_from_db()
    device.refresh_from_db()
    assert draft.nhs_sites != "Nowhere"
    assert device.version == "2.1"
    assert EvidenceDocument.objects.count() == before
    assert not Message.objects.exists()


def test_it_refuses_a_viewer_starting_an_application_or_registering_a_device(organisation):
    viewer = make_manufacturer(
        organisation, org_role=OrganisationRole.VIEWER, email="viewer@example.test"
    )
    why = (
        f"Your role in {organisation} is viewer: "
        "only its administrators and contributors can change its records."
    )

    with refused(PermissionError, why):
        application_create(actor=viewer, call=CallFactory())
    with refused(PermissionError, why):
        device_save(actor=viewer, device=DeviceFactory.build(organisation=None, created_by=None))

    assert not organisation.applications.exists()
    assert not organisation.devices.exists()


def test_it_refuses_a_new_application_from_a_member_without_the_manufacturer_role(
    organisation, former_member
):
    with refused(PermissionError, f"Only {organisation}'s own team can do this."):
        application_create(actor=former_member, call=CallFactory())

    assert not organisation.applications.exists()


# --- Row locks -------------------------------------------------------------------------------


def test_it_locks_the_application_row_it_returns(organisation):
    application = make_application(S.SUBMITTED, organisation=organisation)

    with row_locks() as locked:
        assert lock_application(application.pk) == application

    assert locked == ["devices.Application"]


def test_it_locks_the_case_before_a_transition(organisation, reviewer):
    application = make_application(S.SUBMITTED, organisation=organisation)

    with row_locks() as locked:
        application_transition(
            application_id=application.pk, action="start_screening", actor=reviewer
        )

    assert "devices.Application" in locked


def test_it_locks_the_case_before_editing_a_draft(organisation, manufacturer):
    application = make_application(S.DRAFT, organisation=organisation)

    with row_locks() as locked:
        application_update_draft(
            application=application, actor=manufacturer, patient_benefit="Fewer admissions."
        )

    assert "devices.Application" in locked


def test_it_locks_the_case_and_the_current_version_when_storing_evidence(
    organisation, manufacturer
):
    application = make_application(S.SUBMITTED, organisation=organisation)

    with row_locks() as locked:
        upload(application, manufacturer)

    # The audit chain's head last (ledger.chain): every writer takes the case's rows first and
    # the head at the end, so two uploads cannot each hold what the other waits for.
    assert locked == ["devices.Application", "devices.EvidenceDocument", "ledger.ChainHead"]


def test_it_locks_the_case_before_answering_questions(organisation, manufacturer):
    application = make_application(S.INFORMATION_REQUESTED, organisation=organisation)

    with row_locks() as locked:
        information_respond(
            application_id=application.pk, actor=manufacturer, response="Leeds and Bradford."
        )

    assert locked[0] == "devices.Application"


# --- Submitting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "words"),
    [
        ("device", "the device"),
        ("regulatory_challenge", "the regulatory challenge"),
        ("sandbox_environment", "the sandbox environment sought"),
        ("patient_benefit", "the patient and NHS benefit"),
        ("maturity", "the device's maturity"),
    ],
)
def test_it_refuses_to_submit_a_draft_missing_a_detail(organisation, manufacturer, field, words):
    application = make_application(S.DRAFT, organisation=organisation)
    type(application).objects.filter(pk=application.pk).update(
        **{field: None if field == "device" else ""}
    )

    with pytest.raises(TransitionRefused, match=f"Complete {words} first"):
        application_transition(application_id=application.pk, action="submit", actor=manufacturer)

    application.refresh_from_db()
    assert application.state == S.DRAFT


def test_it_refuses_to_submit_a_draft_missing_required_evidence(organisation, manufacturer):
    application = make_application(S.DRAFT, organisation=organisation)
    application.evidence.filter(kind=EvidenceKind.CLINICAL_EVALUATION).update(is_current=False)

    with pytest.raises(TransitionRefused, match="Upload the required evidence first"):
        application_transition(application_id=application.pk, action="submit", actor=manufacturer)

    application.refresh_from_db()
    assert application.state == S.DRAFT


def test_it_submits_a_complete_draft(organisation, manufacturer):
    application = make_application(S.DRAFT, organisation=organisation)

    application_transition(application_id=application.pk, action="submit", actor=manufacturer)

    application.refresh_from_db()
    assert application.state == S.SUBMITTED


# --- Drafts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("state", SUBMITTED_STATES)
def test_it_refuses_to_edit_an_application_that_is_no_longer_a_draft(
    organisation, manufacturer, state
):
    application = make_application(state, organisation=organisation)
    before = application.patient_benefit

    with refused(
        TransitionRefused, "Only a draft can be edited; this application was submitted already."
    ):
        application_update_draft(
            application=application, actor=manufacturer, patient_benefit="Changed afterwards."
        )

    application.refresh_from_db()
    assert application.patient_benefit == before


def test_it_refuses_another_organisation_editing_a_draft(organisation, other_manufacturer):
    application = make_application(S.DRAFT, organisation=organisation)

    with refused(PermissionError, "Only the organisation's own team can edit this application."):
        application_update_draft(
            application=application, actor=other_manufacturer, patient_benefit="Not theirs."
        )

    application.refresh_from_db()
    assert application.patient_benefit != "Not theirs."


def test_it_refuses_a_reviewer_editing_a_draft(organisation, reviewer):
    application = make_application(S.DRAFT, organisation=organisation)

    with pytest.raises(PermissionError):
        application_update_draft(application=application, actor=reviewer, nhs_sites="Nowhere")


def test_it_saves_the_teams_own_draft(organisation, manufacturer):
    application = make_application(S.DRAFT, organisation=organisation)

    application_update_draft(
        application=application, actor=manufacturer, patient_benefit="Fewer admissions."
    )

    application.refresh_from_db()
    assert application.patient_benefit == "Fewer admissions."


def test_it_refuses_to_move_a_draft_to_a_closed_call_and_moves_it_to_an_open_one(
    organisation, manufacturer
):
    application = make_application(S.DRAFT, organisation=organisation)
    first_call = application.call
    now = timezone.now()
    closed = CallFactory(
        title="Phase 1", opens_at=now - timedelta(days=60), closes_at=now - timedelta(days=1)
    )
    opened = CallFactory(
        title="Phase 4", opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=60)
    )

    with refused(TransitionRefused, closed.closed_refusal()):
        application_update_draft(application=application, actor=manufacturer, call=closed)
    application.refresh_from_db()
    assert application.call == first_call

    application_update_draft(application=application, actor=manufacturer, call=opened)
    application.refresh_from_db()
    assert application.call == opened


def test_it_refuses_to_start_an_application_for_another_organisations_device(
    manufacturer, other_manufacturer
):
    theirs = DeviceFactory(organisation=other_manufacturer.membership.organisation)

    with pytest.raises(PermissionError, match="another organisation"):
        application_create(actor=manufacturer, device=theirs)


def test_it_refuses_to_start_an_application_without_an_organisation(reviewer):
    with refused(PermissionError, "Your account is not linked to an organisation."):
        application_create(actor=reviewer)


def test_it_refuses_to_start_an_application_without_a_call_or_against_a_closed_one(manufacturer):
    now = timezone.now()
    closed = CallFactory(
        title="Phase 1", opens_at=now - timedelta(days=60), closes_at=now - timedelta(days=1)
    )

    with refused(TransitionRefused, "Choose the call for applications you are applying to."):
        application_create(actor=manufacturer, call=None)
    with refused(TransitionRefused, closed.closed_refusal()):
        application_create(actor=manufacturer, call=closed)


def test_it_numbers_new_cases_one_after_another(manufacturer):
    call = CallFactory()
    first, second = (application_create(actor=manufacturer, call=call) for _ in range(2))

    year = timezone.localdate().year
    assert [first.reference, second.reference] == [f"AIA-{year}-0001", f"AIA-{year}-0002"]


# --- Devices ---------------------------------------------------------------------------------


@pytest.mark.parametrize("state", SUBMITTED_STATES)
def test_it_fixes_a_device_once_any_application_for_it_left_draft(
    organisation, manufacturer, state
):
    application = make_application(state, organisation=organisation)
    device = application.device
    device.version = "9.9"

    assert device_is_fixed(device)
    with refused(
        TransitionRefused,
        f"{device} is part of a submitted application, so its record is fixed. "
        "Register the changed device as a new version instead.",
    ):
        device_save(actor=manufacturer, device=device)

    device.refresh_from_db()
    assert device.version == "2.1"


def test_it_keeps_a_device_editable_while_its_applications_are_drafts(organisation, manufacturer):
    application = make_application(S.DRAFT, organisation=organisation)
    device = application.device
    device.version = "2.2"

    assert not device_is_fixed(device)
    device_save(actor=manufacturer, device=device)

    device.refresh_from_db()
    assert device.version == "2.2"


def test_it_refuses_another_organisation_editing_a_device(organisation, other_manufacturer):
    device = DeviceFactory(organisation=organisation)
    device.version = "6.6"

    with refused(PermissionError, "Only the organisation's own team can edit this device."):
        device_save(actor=other_manufacturer, device=device)

    device.refresh_from_db()
    assert device.version == "2.1"


# --- Evidence --------------------------------------------------------------------------------


def test_it_refuses_evidence_from_another_organisation(organisation, other_manufacturer):
    application = make_application(S.SUBMITTED, organisation=organisation)
    before = EvidenceDocument.objects.count()

    with refused(PermissionError, "Only the organisation's own team can upload evidence."):
        upload(application, other_manufacturer)

    assert EvidenceDocument.objects.count() == before


def test_it_refuses_evidence_from_a_reviewer(organisation, reviewer):
    application = make_application(S.SUBMITTED, organisation=organisation)

    with pytest.raises(PermissionError):
        upload(application, reviewer)

    assert not application.evidence.filter(version=2).exists()


@pytest.mark.parametrize("state", sorted(FINAL_STATES))
def test_it_refuses_evidence_once_the_case_is_decided(organisation, manufacturer, state):
    application = make_application(state, organisation=organisation)
    before = EvidenceDocument.objects.count()

    with pytest.raises(TransitionRefused, match="no more evidence can be added"):
        upload(application, manufacturer)

    assert EvidenceDocument.objects.count() == before


@pytest.mark.parametrize("state", NON_FINAL_STATES)
def test_it_takes_evidence_from_the_team_until_the_case_is_decided(
    organisation, manufacturer, state
):
    application = make_application(state, organisation=organisation)

    document = upload(application, manufacturer)

    assert (document.version, document.is_current) == (2, True)
    assert not application.evidence.get(version=1, kind=document.kind).is_current


def test_it_refuses_evidence_when_the_case_was_decided_after_the_page_was_read(
    organisation, manufacturer
):
    # The first check runs without a lock; the second, under it, sees the state that counts.
    application = make_application(S.SUBMITTED, organisation=organisation)
    stale = type(application).objects.get(pk=application.pk)
    application_transition(
        application_id=application.pk, action="withdraw", actor=manufacturer, reason="Paused."
    )
    before = EvidenceDocument.objects.count()

    with pytest.raises(TransitionRefused, match="no more evidence"):
        upload(stale, manufacturer)

    assert EvidenceDocument.objects.count() == before


# --- Messages --------------------------------------------------------------------------------


def test_it_refuses_a_message_from_another_organisation(organisation, other_manufacturer):
    application = make_application(S.SUBMITTED, organisation=organisation)

    with refused(PermissionError, "Only the organisation's own team can message on this case."):
        message_post(application=application, author=other_manufacturer, body="Hello")

    assert not Message.objects.exists()


def test_it_refuses_an_empty_message(organisation, manufacturer):
    application = make_application(S.SUBMITTED, organisation=organisation)

    with refused(TransitionRefused, "Write a message before sending."):
        message_post(application=application, author=manufacturer, body="  \n ")

    assert not Message.objects.exists()
