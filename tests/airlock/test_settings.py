"""Settings are read once per process, so each case runs in a fresh interpreter."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REAL_KEY = "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz"


def load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS"}}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "airlock.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = load_settings(AIRLOCK_ENV="production", ALLOWED_HOSTS="airlock.example")

    assert result.returncode != 0
    assert "Set the SECRET_KEY environment variable" in result.stderr


@pytest.mark.parametrize("key", ["django-insecure-" + "x" * 60, "short-key"])
def test_production_refuses_a_placeholder_or_short_secret_key(key):
    result = load_settings(
        AIRLOCK_ENV="production", ALLOWED_HOSTS="airlock.example", SECRET_KEY=key
    )

    assert result.returncode != 0
    assert "at least 50 characters" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = load_settings(AIRLOCK_ENV="production", SECRET_KEY=REAL_KEY)

    assert result.returncode != 0
    assert "Set ALLOWED_HOSTS in production" in result.stderr


def test_production_starts_with_a_real_key_and_hosts():
    result = load_settings(
        AIRLOCK_ENV="production", SECRET_KEY=REAL_KEY, ALLOWED_HOSTS="airlock.example"
    )

    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("SESSION_COOKIE_AGE", "eight hours", "SESSION_COOKIE_AGE must be a whole number"),
        ("AIRLOCK_ENV", "staging", "AIRLOCK_ENV must be development or production"),
    ],
)
def test_malformed_values_fail_loudly(name, value, message):
    result = load_settings(**{name: value})

    assert result.returncode != 0
    assert message in result.stderr


def test_the_embedded_broker_sends_without_warnings(tmp_path):
    # With no REDIS_URL the broker is the filesystem transport; `make run` loads the demo
    # through it, and a URL without a host made kombu warn once per connection.
    clean = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL"}}
    script = (
        "import django; django.setup(); from airlock.queue import enqueue; "
        "print(enqueue('devices.tasks.repair_state_counts') and 'sent')"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "airlock.settings",
            "CELERY_FILESYSTEM_DIR": str(tmp_path),
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip().splitlines()[-1] == "sent", result.stderr
    assert "kombu" not in result.stderr, result.stderr
    assert list((tmp_path / "queue").iterdir())
