"""What the manufacturer-side services and selectors leave behind when they go ahead.

The refusals are in test_service_refusals.py. Mutation testing (docs/TESTING.md) found these
unchecked: a new device could lose its organisation or its creator, and a selector could stop
joining what every page built on it reads, one query per row.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from devices.models import ApplicationState, EvidenceDocument
from devices.selectors import devices_for, evidence_get
from devices.services import _discard, device_directory_set, device_save
from tests.factories import DeviceFactory, make_application

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
