"""A CSV is checked from its first byte to its last (devices/uploads.py), through the real
upload view, as an attacker would send it.

The attack: the markup check read only the first 64 KB, so a CSV with a <script> after 70 KB
of honest rows was accepted. The variations below put the markup (or a NUL, or bytes that are
not UTF-8) past the first piece read, across the boundary between two pieces, and behind
padding meant to push it out of any fixed window.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from devices.models import EvidenceDocument
from devices.uploads import CSV_CHUNK
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

ROWS = b"site,sensitivity\n" + b"Leeds General Infirmary,0.93\n" * 2_500  # about 72 KB
REFUSED = "named .csv but its contents are not one of the accepted formats"


def _padded_to(size: int, tail: bytes) -> bytes:
    """Honest rows up to `size` bytes, then `tail`."""
    body = b"site,sensitivity\n"
    row = b"Leeds,0.93\n"
    body += row * ((size - len(body)) // len(row))
    return body + b"x" * (size - len(body)) + tail


HOSTILE = {
    "script after 70 KB": ROWS + b"<script>alert(document.cookie)</script>\n",
    "markup as the very last bytes": ROWS + b"<svg",
    "tag split across two reads": _padded_to(CSV_CHUNK - 3, b"<script>alert(1)</script>\n"),
    "tag name split across two reads": _padded_to(CSV_CHUNK - 1, b"< iframe src=x>\n"),
    "tag behind 100 KB of spaces": ROWS + b"<" + b" " * 100_000 + b"script>alert(1)</script>",
    "tag behind line breaks across reads": _padded_to(CSV_CHUNK - 2, b"<\n\n\n\nhtml>"),
    "doctype far in": ROWS * 3 + b"<!DOCTYPE html><html></html>",
    "xml declaration far in": ROWS + b"<?xml version='1.0'?>",
    "markup start behind 100 KB of whitespace": b" \n" * 50_000 + b"<div>a,b</div>",
    "NUL after 70 KB": ROWS + b"Bradford,0.9\x001\n",
    "not UTF-8 after 70 KB": ROWS + b"Bradford,\xff\xfe0.91\n",
    "a character cut short at the end": ROWS + b"Bradford,0.91\xe2\x82",
}
HONEST = {
    "200 KB of rows": ROWS * 3,
    "less-than signs in data": ROWS + b"Leeds,<0.9 at two sites\nYork,a<b\n",
    "a word that starts like a tag": ROWS + b"notes,<scripts folder> not a tag\n",
    "multi-byte text across reads": _padded_to(CSV_CHUNK - 1, "é,ü\nŁódź,0.9\n".encode()),
}


@pytest.fixture
def upload(client, manufacturer, settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 1024 * 1024
    application = ApplicationFactory(
        organisation=manufacturer.membership.organisation, created_by=manufacturer
    )
    client.force_login(manufacturer)

    def send(content: bytes):
        return client.post(
            reverse("devices:evidence-upload", args=[application.pk]),
            {"file": SimpleUploadedFile("results.csv", content), "kind": "other", "title": ""},
        )

    return send


@pytest.mark.parametrize("content", HOSTILE.values(), ids=HOSTILE.keys())
def test_markup_or_binary_anywhere_in_a_csv_is_refused(upload, content):
    response = upload(content)

    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    assert not EvidenceDocument.objects.exists()


@pytest.mark.parametrize("content", HONEST.values(), ids=HONEST.keys())
def test_an_honest_csv_of_any_length_is_accepted(upload, content):
    response = upload(content)

    assert response.status_code == 302
    assert EvidenceDocument.objects.get().content_type == "text/csv"
