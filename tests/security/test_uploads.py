"""Upload hardening through the real evidence upload view: disguised files and oversized
bodies are answered with field errors, never stored and never a 500."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.test import Client
from django.urls import reverse

from airlock.upload_handlers import OversizedUpload, SizeLimitUploadHandler
from devices.models import EvidenceDocument
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
HTML = (
    b"<!doctype html>\n<html><body>name,value\n"
    b"<script>alert(document.cookie)</script>\n</body></html>\n"
)
CSV_THEN_HTML = b"site,sensitivity\nLeeds,0.93\n<script src=https://evil.example/x.js></script>\n"
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<path d="M0,0 L10,10"/><script>alert(1)</script></svg>\n'
)
POLYGLOT = b"%PDF-1.7\n" + EXE


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.fixture
def application(manufacturer):
    return ApplicationFactory(
        organisation=manufacturer.membership.organisation, created_by=manufacturer
    )


@pytest.fixture
def signed_in(client, manufacturer):
    client.force_login(manufacturer)
    return client


def _upload(client, application, content, name):
    return client.post(
        reverse("devices:evidence-upload", args=[application.pk]),
        {"file": SimpleUploadedFile(name, content), "kind": "other", "title": "Probe"},
    )


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (EXE, "report.pdf", "named .pdf but its contents are not one of the accepted formats"),
        (HTML, "results.csv", "named .csv but its contents are not one of the accepted formats"),
        (CSV_THEN_HTML, "results.csv", "named .csv but its contents are not one of the accepted"),
        (SVG, "figure.png", "named .png but its contents are not one of the accepted formats"),
        (
            _zip({"payload/run.sh": b"#!/bin/sh\n"}),
            "evaluation.docx",
            "named .docx but its contents are not one of the accepted formats",
        ),
        (POLYGLOT, "report.exe", "Files ending .exe are not accepted"),
        (b"%PDF-1.7\n", "report", "Files ending .(none) are not accepted"),
    ],
    ids=[
        "exe-as-pdf",
        "html-as-csv",
        "csv-with-script",
        "svg-as-png",
        "zip-as-docx",
        "polyglot-exe",
        "no-extension",
    ],
)
def test_it_refuses_disguised_files_with_a_field_error(
    signed_in, application, content, name, message
):
    response = _upload(signed_in, application, content, name)

    assert response.status_code == 200
    (error,) = response.context["form"].errors["file"]
    assert message in error
    assert "There is a problem" in response.content.decode()
    assert not EvidenceDocument.objects.exists()


def test_it_refuses_an_archive_built_to_unpack_enormously(signed_in, application, settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 64 * 1024
    bomb = _zip(
        {
            "[Content_Types].xml": b"<Types/>",
            "word/document.xml": b"<w:document/>",
            "word/media/padding.bin": b"\x00" * (2 * 1024 * 1024),
        }
    )
    assert len(bomb) < settings.EVIDENCE_MAX_UPLOAD_BYTES

    response = _upload(signed_in, application, bomb, "evaluation.docx")

    (error,) = response.context["form"].errors["file"]
    assert error.startswith("This file unpacks to 2.0\xa0MB in 3 parts")
    assert not EvidenceDocument.objects.exists()


def test_it_still_accepts_a_csv_whose_values_use_angle_brackets(signed_in, application):
    response = _upload(signed_in, application, b"age band,count\n<5,12\n5-17,40\n", "ages.csv")

    assert response.status_code == 302
    assert EvidenceDocument.objects.get().content_type == "text/csv"


def test_an_oversized_body_is_never_stored_and_is_a_field_error(
    signed_in, application, settings, monkeypatch
):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 4096
    # Small enough that anything bigger goes to a temporary file on disk.
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    stored = []
    real_receive = TemporaryFileUploadHandler.receive_data_chunk

    def spy(handler, raw_data, start):
        stored.append(len(raw_data))
        return real_receive(handler, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", spy)
    body = b"%PDF-1.7\n" + b"0" * (3 * 1024 * 1024)

    response = _upload(signed_in, application, body, "huge.pdf")

    assert response.status_code == 200
    form = response.context["form"]
    (error,) = form.errors["file"]
    assert error.startswith("This file is 3.0\xa0MB; the limit is 4.0\xa0KB.")
    # The fields after the file were still read: only the file is in error.
    assert set(form.errors) == {"file"}
    assert sum(stored) <= settings.EVIDENCE_MAX_UPLOAD_BYTES
    assert not EvidenceDocument.objects.exists()


def test_an_oversized_upload_from_a_browser_passes_the_csrf_check(
    manufacturer, application, settings
):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 4096
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(manufacturer)
    url = reverse("devices:evidence-upload", args=[application.pk])
    browser.get(url)
    token = browser.cookies["csrftoken"].value

    response = browser.post(
        url,
        {
            "file": SimpleUploadedFile("huge.pdf", b"%PDF-1.7\n" + b"0" * 100_000),
            "kind": "other",
            "csrfmiddlewaretoken": token,
        },
    )

    assert response.status_code == 200
    assert "the limit is 4.0\xa0KB" in response.context["form"].errors["file"][0]


def test_too_many_form_fields_is_a_bad_request_not_a_500(signed_in, application):
    fields = {f"field{i}": "x" for i in range(1100)}

    response = signed_in.post(reverse("devices:message-create", args=[application.pk]), fields)

    assert response.status_code == 400


def test_an_oversized_text_field_is_a_bad_request_not_a_500(signed_in, application):
    response = signed_in.post(
        reverse("devices:message-create", args=[application.pk]), {"body": "x" * (3 * 1024 * 1024)}
    )

    assert response.status_code == 400


def test_the_handler_withholds_chunks_past_the_limit_and_reports_the_real_size(settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 10
    handler = SizeLimitUploadHandler()
    handler.new_file("file", "big.pdf", "application/pdf", None)

    assert handler.receive_data_chunk(b"12345", 0) == b"12345"
    assert handler.receive_data_chunk(b"67890", 5) == b"67890"
    assert handler.receive_data_chunk(b"x", 10) is None
    assert handler.receive_data_chunk(b"yz", 11) is None
    placeholder = handler.file_complete(13)

    assert isinstance(placeholder, OversizedUpload)
    assert (placeholder.name, placeholder.size) == ("big.pdf", 13)
    assert placeholder.read() == b""

    # The next file in the same request starts afresh.
    handler.new_file("file", "small.pdf", "application/pdf", None)
    assert handler.receive_data_chunk(b"abc", 0) == b"abc"
    assert handler.file_complete(3) is None
