import pytest

from tests.factories import DeviceFactory


@pytest.fixture
def organisation_device(manufacturer):
    return DeviceFactory(organisation=manufacturer.membership.organisation, name="LungScan AI")
