"""The broker is down when a manufacturer submits: the submission is saved, the person is told
it worked, everyone concerned sees it in Airlock at once, and the outbox sweep sends the
state-change emails once the broker's task would have run. (Checkpoint reports with the broker
down: tests/devices/test_checkpoint_reports.py.)
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from devices.models import ApplicationEvent, ApplicationState
from notifications.models import Notification
from notifications.tasks import send_pending_notification_emails
from tests.factories import make_application, make_manufacturer

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 7, 1, 10, 0, tzinfo=ZoneInfo("Europe/London"))


def test_a_submission_with_the_broker_down_is_kept_and_its_emails_go_with_the_sweep(
    client, organisation, manufacturer, dead_broker, django_capture_on_commit_callbacks, caplog
):
    colleague = make_manufacturer(organisation, email="colleague@example.test")
    application = make_application(
        ApplicationState.DRAFT, organisation=organisation, created_by=manufacturer
    )
    client.force_login(manufacturer)

    with time_machine.travel(NOW, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("devices:application-submit", args=[application.pk]))
        page = client.get(response.url).content.decode()

    assert response.status_code == 302
    assert f"{application.reference} is submitted." in page
    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED
    event = ApplicationEvent.objects.get(application=application, transition="submit")
    notice = Notification.objects.get(key=f"event:{event.pk}")
    assert (notice.recipient, notice.emailed_at) == (colleague, None)
    assert "broker unavailable, notifications.tasks.send_notification_emails" in caplog.text
    assert not mail.outbox

    # Beat runs the outbox sweep every 5 minutes; it leaves events younger than its grace.
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        early = send_pending_notification_emails()
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        sent = send_pending_notification_emails()
        again = send_pending_notification_emails()

    assert (early, sent, again) == (0, 1, 0)
    [email] = mail.outbox
    assert email.to == [colleague.email]
    assert email.subject == f"{application.reference}: now submitted"
    notice.refresh_from_db()
    assert notice.emailed_at is not None
