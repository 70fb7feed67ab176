"""Fixtures of the security tests."""

import pytest


@pytest.fixture
def no_api_rate_limits(settings):
    # Each visitor asks for hundreds of URLs from one address, the anonymous one with no
    # token: the limits (tests/security/test_api_limits.py) would answer 429 before the
    # answers this sweep is here to judge.
    settings.API_ADDRESS_FAILED_AUTHS_PER_HOUR = 100_000
    settings.API_ADDRESS_REQUESTS_PER_MINUTE = 100_000
    settings.API_TOKEN_REQUESTS_PER_MINUTE = 100_000
