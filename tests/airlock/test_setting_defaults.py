"""The limits a deployment gets when it sets nothing.

A default that drifts (the evidence cap raised from 25 MB to 250 MB, a session that lasts a day)
passes every test that sets its own value, so the defaults are pinned here, read in a fresh
interpreter with none of their environment variables set.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

MB = 1024 * 1024

# setting name -> (environment variable that overrides it, the default it must have)
DEFAULTS = {
    "EVIDENCE_MAX_UPLOAD_BYTES": ("EVIDENCE_MAX_UPLOAD_MB", 25 * MB),
    "EVIDENCE_URL_EXPIRY_SECONDS": ("EVIDENCE_URL_EXPIRY_SECONDS", 30),
    "MAX_TESTING_DAYS": ("AIRLOCK_MAX_TESTING_DAYS", 365),
    "SESSION_COOKIE_AGE": ("SESSION_COOKIE_AGE", 8 * 60 * 60),
    "SESSION_IDLE_TIMEOUT": ("SESSION_IDLE_MINUTES", 60 * 60),
    "TWO_FACTOR_ENROLMENT_HOURS": ("TWO_FACTOR_ENROLMENT_HOURS", 24),
    "API_MAX_PAGE_SIZE": ("API_MAX_PAGE_SIZE", 100),
    "API_MAX_JSON_BYTES": ("API_MAX_JSON_KB", 256 * 1024),
    "API_MAX_JSON_DEPTH": ("API_MAX_JSON_DEPTH", 20),
    "API_TOKEN_REQUESTS_PER_MINUTE": ("API_TOKEN_REQUESTS_PER_MINUTE", 120),
    "API_ADDRESS_REQUESTS_PER_MINUTE": ("API_ADDRESS_REQUESTS_PER_MINUTE", 300),
    "API_ADDRESS_FAILED_AUTHS_PER_HOUR": ("API_ADDRESS_FAILED_AUTHS_PER_HOUR", 20),
    "CHECKPOINT_SWEEP_MAX_PER_CASE": ("CHECKPOINT_SWEEP_MAX_PER_CASE", 31),
    "CHECKPOINT_SWEEP_MAX_PER_RUN": ("CHECKPOINT_SWEEP_MAX_PER_RUN", 500_000),
}


def defaults_read() -> dict:
    overrides = {variable for variable, _ in DEFAULTS.values()}
    env = {name: value for name, value in os.environ.items() if name not in overrides}
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {sorted(DEFAULTS)!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "DJANGO_SETTINGS_MODULE": "airlock.settings"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_keeps_every_limit_at_its_documented_default():
    # EVIDENCE_MAX_UPLOAD_BYTES is the cap the upload handler and the form enforce; the
    # upload tests set their own small value, so only this test sees the real one.
    assert defaults_read() == {name: default for name, (_, default) in DEFAULTS.items()}
