"""The public directory of devices in the sandbox: opt-in by the manufacturer, name, maker,
clinical area and stage only."""

import pytest
from django.urls import reverse
from django.utils import timezone

from devices.models import ApplicationState, Device
from devices.services import device_directory_set
from reviews.network.directory import directory_entries
from tests.factories import make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def testing(organisation, manufacturer):
    application = make_application(
        ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation, created_by=manufacturer
    )
    Device.objects.filter(pk=application.device_id).update(
        intended_purpose="CONFIDENTIAL purpose", model_summary="CONFIDENTIAL model"
    )
    return application


def test_a_manufacturer_lists_its_device_and_anyone_sees_only_the_public_facts(
    client, testing, manufacturer
):
    device = testing.device
    assert directory_entries() == []
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:device-directory", args=[device.pk]), {"listed": "yes"}, follow=True
    )

    assert "is listed in the public directory" in response.content.decode()
    client.logout()
    page = client.get(reverse("network:directory")).content.decode()
    data = client.get(reverse("network:directory-json")).json()
    assert data == {
        "devices": [
            {
                "device": device.name,
                "version": "2.1",
                "manufacturer": "Demo Diagnostics Ltd",
                "clinical_area": device.get_clinical_area_display(),
                "stage": "In controlled testing",
                "listed_since": timezone.localdate().isoformat(),
            }
        ]
    }
    assert device.name in page
    assert "In controlled testing" in page
    assert "CONFIDENTIAL" not in page
    assert testing.reference not in page


def test_a_device_leaves_the_directory_when_unlisted_or_refused(client, testing, manufacturer):
    device_directory_set(actor=manufacturer, device_id=testing.device_id, listed=True)
    client.force_login(manufacturer)
    client.post(reverse("devices:device-directory", args=[testing.device_id]), {"listed": "no"})
    assert directory_entries() == []

    device_directory_set(actor=manufacturer, device_id=testing.device_id, listed=True)
    type(testing).objects.filter(pk=testing.pk).update(state=ApplicationState.REJECTED)
    assert directory_entries() == []


def test_a_draft_or_suspension_shows_nothing_confidential(testing, manufacturer, organisation):
    device_directory_set(actor=manufacturer, device_id=testing.device_id, listed=True)
    type(testing).objects.filter(pk=testing.pk).update(state=ApplicationState.SUSPENDED)
    assert [e["stage"] for e in directory_entries()] == ["In controlled testing"]

    draft = make_application(ApplicationState.DRAFT, organisation=organisation)
    device_directory_set(actor=manufacturer, device_id=draft.device_id, listed=True)
    assert len(directory_entries()) == 1


def test_only_the_organisation_s_own_team_can_list(testing, other_manufacturer, reviewer, client):
    for outsider in (other_manufacturer, reviewer):
        with pytest.raises(PermissionError):
            device_directory_set(actor=outsider, device_id=testing.device_id, listed=True)
    client.force_login(other_manufacturer)
    response = client.post(
        reverse("devices:device-directory", args=[testing.device_id]), {"listed": "yes"}
    )
    assert response.status_code == 404
    assert directory_entries() == []


def test_the_directory_is_one_query(client, testing, manufacturer, django_assert_num_queries):
    device_directory_set(actor=manufacturer, device_id=testing.device_id, listed=True)

    with django_assert_num_queries(1):
        directory_entries()
