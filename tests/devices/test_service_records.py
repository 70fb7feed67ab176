"""What the manufacturer-side services and selectors leave behind when they go ahead.

The refusals are in test_service_refusals.py. Mutation testing (docs/TESTING.md) found these
unchecked: a new device could lose its organisation or its creator, and a selector could stop
joining what every page built on it reads, one query per row.
"""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devices.models import (
    REQUIRED_EVIDENCE,
    ApplicationEvent,
    ApplicationState,
    EvidenceDocument,
    EvidenceKind,
    Message,
)
from devices.selectors import devices_for, evidence_get, evidence_groups, timeline
from devices.services import (
    TransitionRefused,
    _discard,
    device_directory_set,
    device_save,
    information_respond,
    refusal_reasons,
)
from reviews.models import InformationRequest
from tests.factories import DeviceFactory, add_evidence, make_application

pytestmark = pytest.mark.django_db

S = ApplicationState


def test_it_files_a_new_device_under_the_actors_organisation_whatever_the_form_said(
    organisation, manufacturer, other_manufacturer
):
    # A form (or an API call) that named another organisation does not decide where it goes.
    device = DeviceFactory.build(
        organisation=other_manufacturer.membership.organisation, created_by=None
    )

    device_save(actor=manufacturer, device=device)

    device.refresh_from_db()
    assert (device.organisation, device.created_by) == (organisation, manufacturer)


def queries_reading(rows, attribute):
    with CaptureQueriesContext(connection) as queries:
        for row in rows:
            str(getattr(row, attribute))
    return len(queries)


@pytest.mark.parametrize("who", ["manufacturer", "reviewer"])
def test_it_lists_devices_with_their_organisation_in_one_query(request, organisation, who):
    for _ in range(3):
        make_application(S.SUBMITTED, organisation=organisation)
    user = request.getfixturevalue(who)

    assert queries_reading(devices_for(user), "organisation") == 1


def test_it_fetches_evidence_with_its_case_in_one_query(organisation, manufacturer):
    application = make_application(S.SUBMITTED, organisation=organisation)
    document = EvidenceDocument.objects.filter(application=application).first()

    manufacturer.has_perm("devices.act_for_organisation")  # the permissions, loaded once

    with CaptureQueriesContext(connection) as queries:
        found = evidence_get(manufacturer, document.pk)
        reference = found.application.reference

    assert reference == application.reference
    assert len(queries) == 1


# --- The public directory --------------------------------------------------------------------


def test_it_lists_a_device_from_its_first_opt_in_until_it_opts_out(organisation, manufacturer):
    device = DeviceFactory(organisation=organisation)

    # Opting out of a directory the device was never in leaves it out.
    device_directory_set(actor=manufacturer, device_id=device.pk, listed=False)
    device.refresh_from_db()
    assert device.directory_listed_at is None

    device_directory_set(actor=manufacturer, device_id=device.pk, listed=True)
    device.refresh_from_db()
    first = device.directory_listed_at
    assert first is not None
    # Saying yes again keeps the date it was first listed.
    device_directory_set(actor=manufacturer, device_id=device.pk, listed=True)
    device.refresh_from_db()
    assert device.directory_listed_at == first

    device_directory_set(actor=manufacturer, device_id=device.pk, listed=False)
    device.refresh_from_db()
    assert device.directory_listed_at is None


@pytest.mark.parametrize("who", ["other_manufacturer", "reviewer"])
def test_it_refuses_anyone_outside_the_team_listing_a_device(request, organisation, who):
    device = DeviceFactory(organisation=organisation)

    with pytest.raises(
        PermissionError, match=r"^Only the organisation's own team can list this device\.$"
    ):
        device_directory_set(actor=request.getfixturevalue(who), device_id=device.pk, listed=True)

    device.refresh_from_db()
    assert device.directory_listed_at is None


# --- Cleaning up after a refused upload ------------------------------------------------------


def test_it_gives_up_quietly_when_a_stored_file_cannot_be_removed():
    # Best effort: the refusal that led here is what the person must see, not a storage error.
    class FailingStore:
        def delete(self, name):
            raise OSError(f"cannot remove {name}")

    _discard(FailingStore(), "evidence/abc")


# --- Answering an information request --------------------------------------------------------


def test_it_records_the_answer_and_who_gave_it(organisation, manufacturer):
    application = make_application(S.INFORMATION_REQUESTED, organisation=organisation)

    information_respond(
        application_id=application.pk,
        actor=manufacturer,
        response="  Leeds and Bristol.\n",
        expected_state=S.INFORMATION_REQUESTED,
    )

    request = InformationRequest.objects.get(application=application)
    assert (request.response, request.responded_by) == ("Leeds and Bristol.", manufacturer)
    assert request.responded_at is not None
    event = ApplicationEvent.objects.get(application=application)
    assert (event.actor, event.transition, event.reason, event.to_state) == (
        manufacturer,
        "respond",
        "Information provided.",
        S.SCREENING,
    )


def test_it_refuses_an_answer_sent_from_a_page_showing_an_older_state(organisation, manufacturer):
    application = make_application(S.INFORMATION_REQUESTED, organisation=organisation)

    with pytest.raises(TransitionRefused, match="Someone else changed this application"):
        information_respond(
            application_id=application.pk,
            actor=manufacturer,
            response="Leeds.",
            expected_state=S.SCREENING,
        )

    assert InformationRequest.objects.get(application=application).responded_at is None


def test_it_refuses_an_answer_when_no_request_is_open(organisation, manufacturer):
    # The state says information was asked for, but the request was answered already: there
    # is nothing to answer, and neither the case nor the earlier answer changes.
    application = make_application(S.INFORMATION_REQUESTED, organisation=organisation)
    InformationRequest.objects.filter(application=application).update(
        response="Earlier.", responded_at=timezone.now()
    )

    with pytest.raises(
        TransitionRefused, match=r"^There is no open information request to answer\.$"
    ):
        information_respond(application_id=application.pk, actor=manufacturer, response="Again.")

    application.refresh_from_db()
    assert application.state == S.INFORMATION_REQUESTED
    assert InformationRequest.objects.get(application=application).response == "Earlier."
    assert not ApplicationEvent.objects.filter(application=application).exists()


def test_it_lists_a_permission_refusal_for_a_person_but_not_for_the_system(organisation, reviewer):
    application = make_application(S.DRAFT, organisation=organisation)

    assert refusal_reasons(application, "submit", None) == []
    assert refusal_reasons(application, "submit", reviewer) != []


# --- What the case page reads ----------------------------------------------------------------


def test_it_tells_the_case_story_in_order_with_who_did_what_in_a_fixed_number_of_queries(
    organisation, manufacturer, reviewer
):
    application = make_application(S.INFORMATION_REQUESTED, organisation=organisation)
    request = InformationRequest.objects.get(application=application)
    start = timezone.now()
    InformationRequest.objects.filter(pk=request.pk).update(requested_at=start)
    for minutes, author, from_regulator in ((1, reviewer, True), (2, manufacturer, False)):
        Message.objects.create(
            application=application,
            author=author,
            from_regulator=from_regulator,
            body=f"Note {minutes}.",
            created_at=start + timedelta(minutes=minutes),
        )
    with time_machine.travel(start + timedelta(minutes=3), tick=False):
        information_respond(application_id=application.pk, actor=manufacturer, response="Leeds.")
    event = ApplicationEvent.objects.get(application=application)

    with CaptureQueriesContext(connection) as queries:
        entries = timeline(application)
        story = [(e.kind, e.who, e.title, e.body, e.state, e.event) for e in entries]

    # Events, messages, requests (with who asked and who answered), model changes and incidents.
    assert len(queries) == 5
    assert [entry.at for entry in entries] == sorted(entry.at for entry in entries)
    assert story == [
        (
            "request",
            str(request.requested_by),
            f"Information requested (due {request.due_on:%-d %B %Y})",
            request.questions,
            None,
            None,
        ),
        ("message", f"{reviewer} (regulator)", "Message from the regulator", "Note 1.", None, None),
        (
            "message",
            f"{manufacturer} (manufacturer)",
            "Message from the manufacturer",
            "Note 2.",
            None,
            None,
        ),
        (
            "transition",
            str(manufacturer),
            "Information requested → Screening",
            "Information provided.",
            S.SCREENING,
            event,
        ),
        ("response", str(manufacturer), "Information provided", "Leeds.", None, None),
    ]


def test_it_groups_evidence_by_kind_with_the_current_version_and_the_history_newest_first(
    organisation,
):
    application = make_application(S.DRAFT, organisation=organisation)
    for kind in (EvidenceKind.USABILITY, EvidenceKind.PERFORMANCE):
        for version in (1, 2, 3):
            EvidenceDocument.objects.filter(application=application, kind=kind).update(
                is_current=False
            )
            add_evidence(application, kind, version=version)

    groups = evidence_groups(application)

    # The required kinds first, whether present or not; then the other kinds uploaded, in the
    # order of the list of kinds (performance before usability), and none not uploaded.
    assert [(group.kind, group.required) for group in groups] == [
        *((kind, True) for kind in REQUIRED_EVIDENCE),
        (EvidenceKind.PERFORMANCE, False),
        (EvidenceKind.USABILITY, False),
    ]
    for group in groups[-2:]:
        assert group.current.version == 3
        assert [document.version for document in group.history] == [2, 1]
        assert {document.kind for document in group.history} == {group.kind}
