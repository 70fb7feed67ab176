import pytest
import time_machine

from tests.calls.call_helpers import NOW


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield
