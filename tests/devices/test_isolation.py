"""Manufacturers only ever see their own organisation's records: every page of the portal that
names one of another organisation's objects is 404, and so is the file behind it.

The pages are read from devices.urls, so a page added later is covered without editing this.
"""

import pytest
from django.urls import URLPattern, reverse

from devices import urls as device_urls
from devices.models import ApplicationState
from tests.factories import make_application

pytestmark = pytest.mark.django_db

PAGES_WITH_AN_OBJECT = [
    pattern
    for pattern in device_urls.urlpatterns
    if isinstance(pattern, URLPattern) and pattern.pattern.converters
]


@pytest.fixture
def their_case(manufacturer):
    return make_application(
        ApplicationState.INFORMATION_REQUESTED, organisation=manufacturer.membership.organisation
    )


def _url(pattern: URLPattern, application) -> str:
    if pattern.name.startswith("device-"):
        pk = application.device_id
    elif pattern.name.startswith("evidence-download"):
        pk = application.evidence.first().pk
    else:
        pk = application.pk
    # Any further part of the address (a form step, a checkpoint number) exists for them.
    kwargs = dict.fromkeys(pattern.pattern.converters, 1) | {"pk": pk}
    return reverse(f"devices:{pattern.name}", kwargs=kwargs)


def test_the_isolation_check_covers_the_pages_that_matter():
    names = {pattern.name for pattern in PAGES_WITH_AN_OBJECT}
    assert {
        "device-detail",
        "device-edit",
        "application-detail",
        "application-step",
        "application-review",
        "application-submit",
        "application-timeline",
        "application-withdraw",
        "application-respond",
        "message-create",
        "evidence-upload",
        "evidence-download",
    } <= names


@pytest.mark.parametrize("pattern", PAGES_WITH_AN_OBJECT, ids=lambda p: p.name)
def test_another_organisation_gets_404(client, other_manufacturer, their_case, pattern):
    client.force_login(other_manufacturer)
    url = _url(pattern, their_case)

    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, {"body": "x", "reason": "x", "response": "x"})

    assert response.status_code == 404, url
    assert their_case.reference not in response.content.decode()


def test_nothing_of_theirs_appears_on_another_organisations_lists(
    client, other_manufacturer, their_case
):
    client.force_login(other_manufacturer)
    for name in ["devices:home", "devices:application-list", "devices:device-list"]:
        body = client.get(reverse(name)).content.decode()
        assert their_case.reference not in body, name
        assert their_case.device.name not in body, name


def test_another_organisation_cannot_use_their_device_to_start_an_application(
    client, other_manufacturer, their_case
):
    client.force_login(other_manufacturer)

    page = client.get(reverse("devices:application-start"), {"device": their_case.device_id})

    assert page.context["form"].initial["device"] is None
    assert their_case.device.name not in page.content.decode()
