import pytest
from django.db import connection
from django.urls import reverse

from airlock.celery import app as celery_app


def test_it_reports_database_and_broker_ok(client, db):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_it_names_the_broker_when_it_is_down(client, db, monkeypatch):
    # Nothing listens on port 1: the connection is refused at once.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "unavailable"}


class _DeadConnection:
    def cursor(self):
        raise connection.Database.OperationalError("server closed the connection")


def test_it_names_the_database_when_it_is_down(client, db, monkeypatch):
    monkeypatch.setattr("airlock.views.connection", _DeadConnection())

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json() == {"database": "unavailable", "broker": "ok"}


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_it_only_answers_get(client, db, method):
    assert getattr(client, method)(reverse("healthz")).status_code == 405
