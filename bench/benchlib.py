"""What every benchmark script shares: which database, Django set up for measuring (DEBUG off,
mail kept in memory), machine facts and the results folder."""

import json
import os
import platform
import re
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/airlock_bench"
# The scripts drop and recreate their databases, so they refuse any name without this mark
# (at the start, or after a prefix of the machine's own: wt13_airlock_bench).
SAFE_MARK = "airlock_bench"
LEAD = "lead@demo.airlock"
ADMIN = "admin@demo.airlock"
MAKER = "maker@demo.airlock"
# The team scenarios: ten reviewers taking turns (the first two declared conflicts with an
# organisation each), while a writer changes one application every WRITE_EVERY seconds.
TEAM = [f"reviewer{n:02d}@bench.airlock" for n in range(1, 11)]
TEAM_CONFLICTED = 2
WRITE_EVERY = 0.1
# The case the page benchmarks open: Demo Diagnostics' own, with a long history (bench/seed.py).
CASE_REFERENCE = "AIA-2026-BENCH"


def database_url(suffix: str = "") -> str:
    """BENCH_DATABASE_URL (or the default), with `suffix` added to the database name."""
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    parts = urlsplit(url)
    name = parts.path.lstrip("/") + suffix
    if not re.match(rf"^(\w+_)?{SAFE_MARK}", name):
        sys.exit(f"Benchmark databases must be named [prefix_]{SAFE_MARK}*; got {name!r}.")
    return urlunsplit(parts._replace(path="/" + name))


def bench_environ(url: str) -> dict[str, str]:
    """The environment the application runs under while measured: production-like (DEBUG off,
    so the cached template loader is used and no SQL is recorded), on the bench database."""
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "PRIVATE_STORAGE_ROOT": str(ROOT / "var" / "bench" / "private"),
        # Staff confirm a TOTP code in production; the measured sessions come from force_login,
        # which has no second factor to give.
        "AIRLOCK_REQUIRE_2FA": "false",
        "DJANGO_SETTINGS_MODULE": "airlock.settings",
    }


def setup_django(url: str) -> None:
    os.environ.update(bench_environ(url))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def ensure_database(url: str, *, fresh: bool) -> None:
    """Create the database named in `url` (dropping it first when `fresh`)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def vacuum_analyze(url: str) -> None:
    """Bulk-loaded tables have no statistics and no visibility map until autovacuum gets to
    them; without these the planner guesses row counts and cannot use index-only scans."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary_ms(samples: list[float]) -> dict[str, float]:
    """p50 / p95 / mean in milliseconds, and the single-client request rate they imply."""
    mean = statistics.fmean(samples)
    return {
        "p50_ms": round(percentile(samples, 0.50) * 1000, 2),
        "p95_ms": round(percentile(samples, 0.95) * 1000, 2),
        "mean_ms": round(mean * 1000, 2),
        "rps": round(1 / mean, 1),
    }


def machine() -> dict:
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    postgres = subprocess.run(
        ["psql", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        # Other work on the machine while measuring: figures taken under load read slower.
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "cpu": cpu,
        "python": platform.python_version(),
        "postgresql_client": postgres,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_result(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2) + "\n")
    return path


def ensure_team() -> list[str]:
    """The ten reviewers of the team scenarios (TEAM), made once; their emails."""
    from airlock.models import User
    from airlock.roles import Role, group_for
    from devices.models import Organisation
    from reviews.models import ConflictOfInterest

    organisations = list(Organisation.objects.order_by("pk")[:TEAM_CONFLICTED])
    for n, email in enumerate(TEAM):
        user, created = User.objects.get_or_create(
            email=email, defaults={"full_name": f"Bench Reviewer {n + 1}"}
        )
        if created:
            user.groups.set([group_for(Role.REVIEWER)])
        if n < TEAM_CONFLICTED:
            ConflictOfInterest.objects.get_or_create(
                reviewer=user, organisation=organisations[n], defaults={"reason": "Bench."}
            )
    return list(TEAM)


class Writer:
    """Changes one application every WRITE_EVERY seconds, as a team at work would (an edit,
    an assignment or a transition stamps updated_at): `tick()` between requests in process,
    or `run()` in a thread beside an HTTP load."""

    def __init__(self, url: str, *, seed: int = 17):
        import random

        import psycopg

        self.connection = psycopg.connect(url, autocommit=True)
        self.ids = [
            row[0]
            for row in self.connection.execute(
                "SELECT id FROM devices_application WHERE submitted_at IS NOT NULL"
            )
        ]
        self.random = random.Random(seed)
        self.last = 0.0
        self.writes = 0

    def write(self) -> None:
        self.connection.execute(
            "UPDATE devices_application SET updated_at = now() WHERE id = %s",
            [self.random.choice(self.ids)],
        )
        self.writes += 1

    def tick(self) -> None:
        import time

        if time.monotonic() - self.last >= WRITE_EVERY:
            self.last = time.monotonic()
            self.write()

    def run(self, stop) -> None:
        while not stop.wait(WRITE_EVERY):
            self.write()
