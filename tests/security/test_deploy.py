"""`manage.py check --deploy` is clean with production settings. Settings are read once per
process, so each case runs in a fresh interpreter (as in tests/airlock/test_settings.py)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REAL_KEY = "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz"
PRODUCTION = {
    "AIRLOCK_ENV": "production",
    "SECRET_KEY": REAL_KEY,
    "ALLOWED_HOSTS": "airlock.example",
}


# Set by this test run, never by a deployment: DJANGO_ALLOW_ASYNC_UNSAFE comes from the browser
# tests (tests/e2e/conftest.py) and would itself be a deploy warning.
NOT_INHERITED = {
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "AIRLOCK_ENV",
    "AIRLOCK_REQUIRE_2FA",
    "DEBUG",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    return subprocess.run(
        [sys.executable, *args],
        env={**clean, "DJANGO_SETTINGS_MODULE": "airlock.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def setting(name: str, **env: str) -> str:
    result = run(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            f"print(settings.{name})",
        ],
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_check_deploy_is_clean_in_production():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_two_factor_is_required_in_production_and_off_in_development():
    assert setting("AIRLOCK_REQUIRE_2FA", **PRODUCTION) == "True"
    assert setting("AIRLOCK_REQUIRE_2FA", AIRLOCK_ENV="development") == "False"
    assert setting("AIRLOCK_REQUIRE_2FA", **PRODUCTION, AIRLOCK_REQUIRE_2FA="off") == "False"


def test_the_idle_limit_is_read_in_minutes():
    assert setting("SESSION_IDLE_TIMEOUT", SESSION_IDLE_MINUTES="20") == "1200"


def test_a_malformed_idle_limit_fails_loudly():
    result = run(["-c", "import django; django.setup()"], SESSION_IDLE_MINUTES="an hour")

    assert result.returncode != 0
    assert "SESSION_IDLE_MINUTES must be a whole number" in result.stderr


def test_the_api_documentation_is_private_in_production_unless_a_setting_says_so():
    assert setting("API_DOCS_PUBLIC", **PRODUCTION) == "False"
    assert setting("API_DOCS_PUBLIC", AIRLOCK_ENV="development") == "True"
    assert setting("API_DOCS_PUBLIC", **PRODUCTION, API_DOCS_PUBLIC="on") == "True"


def test_partner_webhooks_must_be_https_in_production():
    assert setting("PARTNER_WEBHOOK_ALLOW_HTTP", **PRODUCTION) == "False"
    assert setting("PARTNER_WEBHOOK_ALLOW_HTTP", AIRLOCK_ENV="development") == "True"


def test_loopback_partners_are_refused_in_production():
    # The two-node test and `make network` allow partners on 127.0.0.1; production never does.
    loopback = run(
        ["-c", "import django; django.setup()"],
        **PRODUCTION,
        PARTNER_WEBHOOK_ALLOWED_NETWORKS="10.1.0.0/16,127.0.0.1/32",
    )
    assert loopback.returncode != 0
    assert "may not include loopback addresses in production" in loopback.stderr
    ipv6 = run(
        ["-c", "import django; django.setup()"],
        **PRODUCTION,
        PARTNER_WEBHOOK_ALLOWED_NETWORKS="::/0",
    )
    assert ipv6.returncode != 0
    assert (
        setting(
            "PARTNER_WEBHOOK_ALLOWED_NETWORKS",
            AIRLOCK_ENV="development",
            PARTNER_WEBHOOK_ALLOWED_NETWORKS="127.0.0.1/32",
        )
        == "['127.0.0.1/32']"
    )
    assert (
        setting(
            "PARTNER_WEBHOOK_ALLOWED_NETWORKS",
            **PRODUCTION,
            PARTNER_WEBHOOK_ALLOWED_NETWORKS="10.1.0.0/16",
        )
        == "['10.1.0.0/16']"
    )
