"""The one JSON parser of the API (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES): every JSON body
any endpoint reads goes through it, so an endpoint added later is covered without a thought.

DRF's own parser hands the body to json.loads as it comes. A body nested 100,000 levels deep
then overflows Python's stack (a RecursionError, answered 500); `1e999999` parses as Infinity,
which PostgreSQL refuses to store (another 500); a NUL or an unpaired surrogate in a string
reaches PostgreSQL's jsonb, which refuses those too. Here each is a 400 naming the problem,
and the size and depth are checked before anything is parsed.
"""

import json
import math
import re
from typing import NoReturn

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer

# A JSON string (skipped whole, so brackets inside it do not count) or a bracket.
_STRUCTURE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_OPENING = frozenset(b"[{")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Whole numbers must fit the 64-bit integers every column and counter here uses.
_INTEGER_LIMIT = 2**63


def _reject(problem: str) -> NoReturn:
    raise ParseError(f"The JSON body was refused: {problem}")


def _check_depth(body: bytes, limit: int) -> None:
    """Count nesting without parsing: a linear scan that stops at the first level too deep."""
    depth = 0
    for match in _STRUCTURE.finditer(body):
        token = match.group()
        if len(token) != 1:
            continue
        if token[0] in _OPENING:
            depth += 1
            if depth > limit:
                _reject(f"it is nested more than {limit} levels deep.")
        else:
            depth -= 1


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        _reject(f"the number {text[:40]} is too large to store.")
    return value


def _bounded_int(text: str) -> int:
    # Python refuses to read more than 4,300 digits anyway (a ValueError): say it in words.
    if len(text) > 20:
        _reject(f"the number {text[:40]}… is too large to store.")
    value = int(text)
    if not -_INTEGER_LIMIT <= value < _INTEGER_LIMIT:
        _reject(f"the number {text} is too large to store.")
    return value


def _no_constants(name: str) -> NoReturn:
    _reject(f"{name} is not a number JSON allows; send a finite number or null.")


def _check_text(value) -> None:
    """No NUL and no unpaired surrogate in any string, keys included: the database can
    store neither. (Depth is already bounded, so the recursion is too.)"""
    if isinstance(value, str):
        if "\x00" in value:
            _reject("it contains a NUL (\\u0000) character.")
        if _SURROGATE.search(value):
            _reject("it contains an unpaired surrogate (\\ud800 to \\udfff), which is not text.")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


def parse_json(body: bytes) -> object:
    """The body as Python values, or ParseError naming what is wrong with it."""
    limit = settings.API_MAX_JSON_BYTES
    if len(body) > limit:
        _reject(f"it is larger than {filesizeformat(limit)}.")
    _check_depth(body, settings.API_MAX_JSON_DEPTH)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        _reject("it is not UTF-8 text.")
    try:
        value = json.loads(
            text,
            parse_float=_finite_float,
            parse_int=_bounded_int,
            parse_constant=_no_constants,
        )
    except ValueError as exc:
        _reject(f"it is not valid JSON ({exc}).")
    _check_text(value)
    return value


class StrictJSONParser(BaseParser):
    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_JSON_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        # Refused before reading: a client that says it is sending gigabytes is not read.
        if declared and declared.isdigit() and int(declared) > limit:
            _reject(f"it is larger than {filesizeformat(limit)}.")
        body = stream.read(limit + 1) if stream is not None else b""
        return parse_json(body)
