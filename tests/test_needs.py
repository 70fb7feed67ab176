"""The skip logic of the integration tests, on every combination `make test` may run on."""

import pytest

from tests import needs


@pytest.mark.parametrize(
    ("vendor", "redis_url", "expected"),
    [
        ("postgresql", "redis://127.0.0.1:6379/1", None),
        ("postgresql", "", "needs Redis (set REDIS_URL)"),
        (
            "sqlite",
            "redis://127.0.0.1:6379/1",
            "needs PostgreSQL (set DATABASE_URL) for row locks and writers beside the test",
        ),
        (
            "sqlite",
            "",
            "needs Redis (set REDIS_URL) and PostgreSQL (set DATABASE_URL) for row locks and "
            "writers beside the test",
        ),
    ],
)
def test_it_names_what_a_worker_test_lacks_on_each_combination(vendor, redis_url, expected):
    assert (
        needs.missing(vendor=vendor, redis_url=redis_url, needs_redis=True, needs_postgresql=True)
        == expected
    )


def test_it_asks_only_for_what_the_test_needs():
    assert needs.missing(vendor="sqlite", redis_url="", needs_redis=True) == (
        "needs Redis (set REDIS_URL)"
    )
    assert needs.missing(vendor="postgresql", redis_url="", needs_postgresql=True) is None


def test_it_skips_a_test_whose_services_are_missing(monkeypatch):
    monkeypatch.delenv(needs.REQUIRE, raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs Redis"):
        needs.require("needs Redis (set REDIS_URL)")


def test_it_fails_instead_when_the_run_requires_integration_tests(monkeypatch):
    monkeypatch.setenv(needs.REQUIRE, "1")
    with pytest.raises(pytest.fail.Exception, match="AIRLOCK_REQUIRE_INTEGRATION is set"):
        needs.require("needs Redis (set REDIS_URL)")


def test_it_lets_a_test_run_when_nothing_is_missing(monkeypatch):
    monkeypatch.setenv(needs.REQUIRE, "1")
    assert needs.require(None) is None


def test_it_names_the_s3_server_when_moto_is_missing():
    assert needs.missing(
        vendor="postgresql", redis_url="redis://127.0.0.1:6379/1", needs_s3=True, has_moto=False
    ) == ("needs moto's S3 server (make install-dev installs moto[server])")
    assert needs.missing(vendor="sqlite", redis_url="", needs_s3=True, has_moto=True) is None
