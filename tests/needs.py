"""What tests of real services (workers, row locks) need from the machine, and what happens when
it is missing.

A test whose services are missing is skipped, with a reason naming what it needs, so `make test`
passes on every combination of database (SQLite or PostgreSQL) and broker (Redis or none). CI
sets AIRLOCK_REQUIRE_INTEGRATION=1 on its PostgreSQL-and-Redis run: there the services are
meant to be present, and a skip would hide a test CI relies on, so it fails instead.
"""

import importlib.util
import os

import pytest

REQUIRE = "AIRLOCK_REQUIRE_INTEGRATION"


def moto_installed() -> bool:
    return importlib.util.find_spec("moto") is not None


def missing(
    *,
    vendor: str,
    redis_url: str,
    needs_redis: bool = False,
    needs_postgresql: bool = False,
    needs_s3: bool = False,
    has_moto: bool | None = None,
) -> str | None:
    """What a test needs and this run lacks, in words; None when it can run."""
    wanted = []
    if needs_s3 and not (moto_installed() if has_moto is None else has_moto):
        # The S3 API on loopback (tests/s3.py) is moto's standalone server.
        wanted.append("moto's S3 server (make install-dev installs moto[server])")
    if needs_redis and not redis_url:
        wanted.append("Redis (set REDIS_URL)")
    if needs_postgresql and vendor != "postgresql":
        # SQLite's test database is in memory, shared between threads by table locks: a
        # worker writing beside the test fails with "database table is locked", and another
        # process cannot open it at all.
        wanted.append("PostgreSQL (set DATABASE_URL) for row locks and writers beside the test")
    return "needs " + " and ".join(wanted) if wanted else None


def require(reason: str | None) -> None:
    """Skip the test for `reason`, or fail it when the run requires integration tests."""
    if reason is None:
        return
    if os.environ.get(REQUIRE):
        pytest.fail(f"{REQUIRE} is set but this test {reason}")
    pytest.skip(reason)
