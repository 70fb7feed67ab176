"""Matching a refusal by its whole message.

`pytest.raises(match=…)` searches, so a message that gained or lost words around the part a
test names still passes. People read these messages: a changed word is a changed rule.
"""

import re

import pytest


def refused(exception, message: str):
    """The refusal and its whole message."""
    return pytest.raises(exception, match=f"^{re.escape(message)}$")
