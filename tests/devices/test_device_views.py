import pytest
from django.urls import reverse

from devices.models import AiType, ApplicationState, Device, Significance, Situation
from tests.factories import DeviceFactory, make_application

pytestmark = pytest.mark.django_db


def _device_data(**overrides) -> dict:
    data = {
        "name": "RetinaCheck",
        "version": "1.0",
        "intended_purpose": "Flags referable diabetic retinopathy on retinal photographs.",
        "clinical_area": "ophthalmology",
        "care_setting": "community",
        "mdr_class": "IIa",
        "significance": Significance.DRIVE,
        "situation": Situation.CRITICAL,
        "ai_type": AiType.LOCKED,
        "pccp_summary": "",
        "model_summary": "CNN; input retinal photograph; output referable or not.",
        "training_data_summary": "80,000 images from 4 screening programmes, 2016-2023.",
    }
    return data | overrides


def test_it_registers_a_device_for_the_organisation_with_its_derived_category(client, manufacturer):
    client.force_login(manufacturer)

    response = client.post(reverse("devices:device-create"), _device_data())

    device = Device.objects.get(name="RetinaCheck")
    assert response.status_code == 302
    assert response.url == reverse("devices:device-detail", args=[device.pk])
    assert device.organisation == manufacturer.membership.organisation
    assert device.created_by == manufacturer
    assert device.imdrf_category == "III"
    page = client.get(response.url).content.decode()
    assert "Category III" in page


def test_it_requires_a_pccp_for_an_adaptive_model_as_a_field_error(client, manufacturer):
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:device-create"), _device_data(ai_type=AiType.ADAPTIVE, pccp_summary=" ")
    )

    assert response.status_code == 200
    assert response.context["form"].errors["pccp_summary"] == [
        "An adaptive model needs a predetermined change control plan."
    ]
    assert not Device.objects.exists()


def test_it_rejects_an_empty_or_invalid_device_form_with_field_errors(client, manufacturer):
    client.force_login(manufacturer)

    response = client.post(reverse("devices:device-create"), {"significance": "guess"})

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"name", "version", "significance", "situation", "mdr_class"} <= errors.keys()
    assert "There is a problem" in response.content.decode()
    empty = client.post(reverse("devices:device-create"), {})
    assert {"name", "version", "significance"} <= empty.context["form"].errors.keys()


def test_it_refuses_a_second_device_with_the_same_name_and_version(client, manufacturer):
    DeviceFactory(
        organisation=manufacturer.membership.organisation, name="RetinaCheck", version="1.0"
    )
    client.force_login(manufacturer)

    response = client.post(reverse("devices:device-create"), _device_data())

    assert response.status_code == 200
    assert "already has RetinaCheck version 1.0" in response.context["form"].errors["version"][0]


def test_the_same_name_and_version_is_fine_in_another_organisation(
    client, manufacturer, other_manufacturer
):
    DeviceFactory(
        organisation=other_manufacturer.membership.organisation, name="RetinaCheck", version="1.0"
    )
    client.force_login(manufacturer)

    response = client.post(reverse("devices:device-create"), _device_data())

    assert response.status_code == 302


def test_it_edits_a_device_and_rederives_the_category(client, manufacturer):
    device = DeviceFactory(organisation=manufacturer.membership.organisation)
    client.force_login(manufacturer)
    url = reverse("devices:device-edit", args=[device.pk])
    assert client.get(url).status_code == 200

    response = client.post(
        url,
        _device_data(
            name=device.name,
            significance=Significance.TREAT_DIAGNOSE,
            situation=Situation.CRITICAL,
        ),
    )

    assert response.status_code == 302
    device.refresh_from_db()
    assert device.imdrf_category == "IV"


def test_a_device_in_a_submitted_application_is_fixed(client, manufacturer):
    application = make_application(
        ApplicationState.SUBMITTED, organisation=manufacturer.membership.organisation
    )
    device = application.device
    client.force_login(manufacturer)
    url = reverse("devices:device-edit", args=[device.pk])

    response = client.post(url, _device_data(name="Renamed"))

    assert response.status_code == 302
    device.refresh_from_db()
    assert device.name != "Renamed"
    assert "register the changed device as a new version" in (
        client.get(response.url).content.decode()
    )


def test_it_lists_only_the_organisations_devices(client, manufacturer, other_manufacturer):
    DeviceFactory(organisation=manufacturer.membership.organisation, name="Ours")
    DeviceFactory(organisation=other_manufacturer.membership.organisation, name="Theirs")
    client.force_login(manufacturer)

    body = client.get(reverse("devices:device-list")).content.decode()

    assert "Ours" in body
    assert "Theirs" not in body


def test_it_previews_the_imdrf_category_for_htmx(client, manufacturer):
    client.force_login(manufacturer)
    url = reverse("devices:imdrf-category")

    chosen = client.get(url, {"significance": "treat_diagnose", "situation": "serious"})
    incomplete = client.get(url, {"significance": "nonsense"})

    assert "<strong>III</strong>" in chosen.content.decode()
    assert incomplete.status_code == 200
    assert "Choose the significance" in incomplete.content.decode()


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("devices:device-list", "post"),
        ("devices:device-create", "put"),
        ("devices:imdrf-category", "post"),
    ],
)
def test_device_pages_refuse_the_wrong_method(client, manufacturer, name, method):
    client.force_login(manufacturer)
    assert getattr(client, method)(reverse(name)).status_code == 405


def test_device_pages_are_for_manufacturers_only(client, reviewer):
    client.force_login(reviewer)
    assert client.get(reverse("devices:device-list")).status_code == 403
    assert client.get(reverse("devices:device-create")).status_code == 403


def test_a_missing_device_is_404(client, manufacturer):
    client.force_login(manufacturer)
    assert client.get(reverse("devices:device-detail", args=[999999])).status_code == 404
    assert client.get(reverse("devices:device-edit", args=[999999])).status_code == 404
