"""Fixtures of the form fuzzers."""

import pytest

from airlock.roles import Role
from tests.factories import UserFactory
from tests.fuzz.stage import ADMIN, LEAD, MANUFACTURER, OBSERVER, REVIEWER, Stage
from tests.fuzz.strategies import UPLOAD_LIMIT_BYTES


@pytest.fixture
def stage(manufacturer, reviewer, lead_reviewer, admin_user, settings, running_stack) -> Stage:
    settings.EVIDENCE_MAX_UPLOAD_BYTES = UPLOAD_LIMIT_BYTES
    return Stage(
        {
            MANUFACTURER: manufacturer,
            REVIEWER: reviewer,
            LEAD: lead_reviewer,
            ADMIN: admin_user,
            OBSERVER: UserFactory(email="observer@example.test", role=Role.OBSERVER),
        }
    )
