"""What tests of real services (workers, row locks) need from the machine, and what happens when
it is missing.

A test whose services are missing is skipped, with a reason naming what it needs, so `make test`
passes on every combination of database (SQLite or PostgreSQL) and broker (Redis or none). CI
sets AIRLOCK_REQUIRE_INTEGRATION=1 on its PostgreSQL-and-Redis run: there the services are
meant to be present, and a skip would hide a test CI relies on, so it fails instead.
"""

import os

import pytest

REQUIRE = "AIRLOCK_REQUIRE_INTEGRATION"


def missing(
    *, vendor: str, redis_url: str, needs_redis: bool = False, needs_postgresql: bool = False
) -> str | None:
    """What a test needs and this run lacks, in words; None when it can run."""
    wanted = []
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
