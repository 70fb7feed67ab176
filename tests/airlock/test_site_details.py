"""Small things a real user or operator notices: HEAD for uptime monitors, the favicon, one
log line per refused request, links in emails that point where the site runs, `make run` on a
port of one's choosing, error pages titled as errors, no delete that always fails."""

import logging

import pytest
from django.core.management import call_command
from django.urls import reverse

import airlock.management.commands.runall as runall
from devices.models import ApplicationState
from tests.factories import make_application


@pytest.mark.parametrize("name", ["home", "healthz", "help"])
def test_uptime_monitors_may_ask_with_head(client, admin_user, name):
    client.force_login(admin_user)

    response = client.head(reverse(name))

    assert response.status_code == 200
    assert response.content == b""


def test_the_favicon_is_found(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response.url.endswith("favicon.svg")


def test_a_refused_request_is_logged_once_without_a_traceback(client, manufacturer, caplog):
    client.force_login(manufacturer)

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(reverse("reviews:home"))

    assert response.status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert "Forbidden" in record.getMessage()
    # A 403 is not worth a traceback (the logging configuration's filter drops it)...
    assert record.exc_info is None


def test_django_s_loggers_write_through_the_root_handler_alone():
    # ...and Django's own console handler would print every record a second time.
    assert logging.getLogger("django").handlers == []
    assert logging.getLogger("django.request").handlers == []


class _Manager:
    """Stands in for honcho's process manager: records what would be started."""

    def __init__(self):
        self.processes = {}
        self.returncode = 0

    def add_process(self, name, command, env):
        self.processes[name] = (command, env)

    def loop(self):
        pass


def test_make_run_serves_on_the_port_asked_for_and_links_there(monkeypatch, capsys):
    manager = _Manager()
    monkeypatch.setattr(runall, "Manager", lambda: manager)
    monkeypatch.setattr(runall, "_redis_reachable", lambda url: False)
    monkeypatch.delenv("SITE_URL", raising=False)

    with pytest.raises(SystemExit):
        call_command("runall", "127.0.0.1:8123")

    command, env = manager.processes["web"]
    assert command.endswith("runserver 127.0.0.1:8123")
    for name in ("web", "worker", "beat"):
        _, env = manager.processes[name]
        assert (env["PORT"], env["SITE_URL"]) == ("8123", "http://127.0.0.1:8123")
    assert "http://127.0.0.1:8123/" in capsys.readouterr().out


def test_a_page_sent_back_with_errors_is_titled_as_an_error(client, manufacturer, organisation):
    application = make_application(
        ApplicationState.SUBMITTED, organisation=organisation, created_by=manufacturer
    )
    client.force_login(manufacturer)
    url = reverse("devices:application-withdraw", args=[application.pk])

    fine = client.get(url).content.decode()
    sent_back = client.post(url, {"reason": "", "expected_state": application.state})

    assert "<title>Withdraw" in fine
    assert "<title>Error: Withdraw" in sent_back.content.decode()
    assert 'id="error-summary"' in sent_back.content.decode()


def test_the_admin_offers_no_delete_that_always_fails(client, admin_user):
    application = make_application(ApplicationState.SUBMITTED)
    client.force_login(admin_user)

    changelist = client.get(reverse("admin:devices_application_changelist")).content.decode()
    delete = client.get(reverse("admin:devices_application_delete", args=[application.pk]))

    assert "delete_selected" not in changelist
    assert delete.status_code == 403
