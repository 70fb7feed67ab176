"""The network's message schema (JSON Schema 2020-12), and the IMDRF device problem codes.

The schema ships with the code (reviews/network/message-v1.schema.json) and is served at
/network/schema/message-v1.json; docs/network/ keeps the same file for readers, and a test
checks the two are identical. Within version 1, additions are optional properties: a node
keeps properties it does not know (they stay in the stored payload) instead of refusing them.
"""

import json
from functools import cache
from pathlib import Path

from django.utils.dateparse import parse_datetime
from jsonschema import Draft202012Validator, FormatChecker

SCHEMA_VERSION = "1.0"
SCHEMA_FILE = Path(__file__).with_name("message-v1.schema.json")
MAX_ERRORS = 10

# IMDRF adverse event terminology, Annex A (medical device problem), level-1 terms that
# describe how AI software fails: a small table, enough to code the alerts this network
# carries. Any code of Annex A's form is accepted; these are shown with their term.
IMDRF_DEVICE_PROBLEMS = {
    "A08": "Calibration Problem",
    "A09": "Output Problem",
    "A11": "Computer Software Problem",
    "A13": "Communication or Transmission Problem",
    "A24": "Adverse Event Without Identified Device or Use Problem",
}
# Which code our own signals carry, by what raised them.
IMDRF_CODE_FOR_METRIC = {
    "calibration_slope": "A08",
}
IMDRF_CODE_DEFAULT = "A09"  # a performance metric out of bounds: the output is wrong


@cache
def schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text())


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema(), format_checker=FormatChecker())


def _where(path) -> str:
    return ".".join(str(part) for part in path) or "(the message)"


def problems(message: object) -> list[str]:
    """What is wrong with `message`, one sentence per problem naming where; [] if valid."""
    found = sorted(_validator().iter_errors(message), key=lambda error: list(error.path))
    messages = [f"{_where(error.absolute_path)}: {error.message[:300]}" for error in found]
    if not messages and isinstance(message, dict):
        messages = _dates(message)
    return messages[:MAX_ERRORS]


def _dates(message: dict) -> list[str]:
    """Date-times the schema's format check may let through (it needs extra packages)."""
    data = message.get("data", {})
    fields = [("timestamp", message.get("timestamp"))] + [
        (f"data.{name}", data.get(name)) for name in ("raised_at", "updated_at", "issued_at")
    ]
    wrong = []
    for where, value in fields:
        if value is None:
            continue
        try:
            moment = parse_datetime(value)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            wrong.append(f"{where}: {value[:40]!r} is not an ISO 8601 date-time with a zone.")
    return wrong


def code_terms(codes: list[dict]) -> list[tuple[str, str]]:
    """(code, term) for display: the sender's term, else ours, else the code alone."""
    return [
        (item["code"], item.get("term") or IMDRF_DEVICE_PROBLEMS.get(item["code"], ""))
        for item in codes
    ]
