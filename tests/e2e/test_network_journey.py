"""The network as people use it: a manufacturer lists a device in the public directory, a
reviewer triages a partner's alert, and sees a partner's receipt on a shared signal."""

import pytest
from django.utils import timezone

import airlock.queue
from devices.models import ApplicationState
from reviews.models import AlertDelivery, AlertReceipt, IncomingAlert, SafetySignal
from tests.e2e.conftest import login
from tests.factories import TEST_PASSWORD, make_application
from tests.reviews.network_helpers import alert_message, make_partner


@pytest.fixture
def queued(monkeypatch):
    sent = []
    monkeypatch.setattr(
        airlock.queue, "enqueue", lambda task_name, *args: sent.append((task_name, args)) or True
    )
    return sent


def test_a_device_listed_by_its_maker_appears_in_the_public_directory(
    page, screenshot, organisation, manufacturer, live_server
):
    case = make_application(
        ApplicationState.IN_CONTROLLED_TESTING,
        organisation=organisation,
        created_by=manufacturer,
        device__name="LungScan AI",
    )
    login(page, manufacturer.email, TEST_PASSWORD)
    page.goto(f"{live_server.url}/devices/{case.device_id}/")
    page.get_by_role("heading", name="Public directory").wait_for()
    page.get_by_role("button", name="List it in the directory").click()
    page.get_by_text("is listed in the public directory").wait_for()
    screenshot("01-device-listed")
    page.get_by_role("link", name="public directory of devices in the sandbox").click()
    page.get_by_role("heading", name="Devices in the sandbox").wait_for()
    assert page.get_by_role("cell", name="In controlled testing").is_visible()
    screenshot("02-directory")


def test_a_reviewer_triages_a_partner_alert_and_reads_a_partner_receipt(
    page, screenshot, organisation, reviewer, live_server, queued
):
    partner, _ = make_partner()
    message = alert_message()
    alert = IncomingAlert.objects.create(
        partner=partner,
        external_id="HC-2026-17",
        title=message["data"]["title"],
        severity="high",
        summary=message["data"]["description"],
        device_name="ChestTriage",
        payload=message,
    )
    login(page, reviewer.email, TEST_PASSWORD)
    page.goto(f"{live_server.url}/reviews/alerts/incoming/")
    page.get_by_role("link", name=alert.title).click()
    page.get_by_role("heading", name=f"Tell {partner} how we are working it").wait_for()
    page.get_by_label("We have triaged it").check()
    page.get_by_role("button", name="Send receipt").click()
    page.get_by_text("Say whether it is relevant").first.wait_for()
    screenshot("03-triage-error")
    page.get_by_label("We have triaged it").check()
    page.get_by_label("Our assessment").select_option("relevant")
    page.get_by_label("Note for the partner").fill("The same model is used here.")
    page.get_by_role("button", name="Send receipt").click()
    page.get_by_text("Triaged receipt recorded").wait_for()
    screenshot("04-triaged")
    assert [name for name, _ in queued] == ["reviews.tasks.deliver_receipt"]

    case = make_application(
        ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )
    signal = SafetySignal.objects.create(
        application=case,
        severity="critical",
        source="reviewer",
        title="Sensitivity below the critical threshold",
        description="Seen at two sites.",
        shared_at=timezone.now(),
    )
    AlertDelivery.objects.create(signal=signal, partner=partner, status="delivered")
    AlertReceipt.objects.create(
        signal=signal,
        partner=partner,
        kind="action_taken",
        alert_version=1,
        action_category="manufacturer_contacted",
        note="Called the manufacturer.",
        issued_at=timezone.now(),
    )
    page.goto(f"{live_server.url}/reviews/signals/{signal.pk}/")
    page.get_by_role("heading", name="Partners' receipts").wait_for()
    screenshot("05-signal-with-receipt")
