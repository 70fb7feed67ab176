import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from devices.models import Application, ApplicationState, EvidenceDocument, EvidenceKind
from devices.uploads import inspect_upload
from tests.factories import ApplicationFactory, make_application

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64


def _zip(**members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name.replace("__", "/"), content)
    return buffer.getvalue()


DOCX = _zip(**{"[Content_Types].xml": b"<Types/>", "word__document.xml": b"<w:document/>"})


@pytest.fixture
def application(manufacturer):
    return ApplicationFactory(
        organisation=manufacturer.membership.organisation, created_by=manufacturer
    )


def _upload(client, application, content=PDF, name="risk.pdf", kind="risk_management", **extra):
    return client.post(
        reverse("devices:evidence-upload", args=[application.pk]),
        {"kind": kind, "title": "", "file": SimpleUploadedFile(name, content), **extra},
    )


def test_it_stores_an_upload_privately_with_its_sha256(client, manufacturer, application):
    client.force_login(manufacturer)

    response = _upload(client, application, title="Risk file issue 3")

    assert response.url == reverse("devices:application-detail", args=[application.pk])
    document = EvidenceDocument.objects.get()
    assert document.sha256 == hashlib.sha256(PDF).hexdigest()
    assert (document.size, document.content_type) == (len(PDF), "application/pdf")
    assert (document.original_name, document.title, document.version) == (
        "risk.pdf",
        "Risk file issue 3",
        1,
    )
    stored = Path(document.file.path)
    assert stored.is_relative_to(settings.PRIVATE_STORAGE_ROOT)
    assert stored.read_bytes() == PDF
    assert "risk.pdf" not in stored.name  # never the uploader's name on disk
    page = client.get(response.url).content.decode()
    assert document.sha256 in page
    assert document.sha256[:12] in page


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (DOCX, "evaluation.docx", "application/vnd.openxmlformats"),
        (b"site,sensitivity\nLeeds,0.93\n", "results.csv", "text/csv"),
        (PNG, "figure.png", "image/png"),
    ],
)
def test_it_accepts_each_allowed_format_by_content(
    client, manufacturer, application, content, name, content_type
):
    client.force_login(manufacturer)

    response = _upload(client, application, content=content, name=name, kind="other")

    assert response.status_code == 302
    assert EvidenceDocument.objects.get().content_type.startswith(content_type)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (EXE, "risk.pdf", "named .pdf but its contents are not one of the accepted formats"),
        (PNG, "risk.pdf", "named .pdf but its contents are PNG image"),
        (_zip(**{"payload.bin": b"x"}), "risk.docx", "named .docx but its contents are not"),
        (EXE, "setup.exe", "Files ending .exe are not accepted"),
        (b"", "risk.pdf", "This file is empty."),
    ],
)
def test_it_rejects_a_disguised_or_unsupported_file_as_a_field_error(
    client, manufacturer, application, content, name, message
):
    client.force_login(manufacturer)

    response = _upload(client, application, content=content, name=name)

    assert response.status_code == 200
    errors = response.context["form"].errors["file"]
    assert any(message in error for error in errors), errors
    assert "There is a problem" in response.content.decode()
    assert not EvidenceDocument.objects.exists()


def test_it_rejects_an_oversized_file_quoting_the_limit(
    client, manufacturer, application, settings
):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 1024
    client.force_login(manufacturer)
    form_page = client.get(reverse("devices:evidence-upload", args=[application.pk]))
    # filesizeformat keeps "1.0 KB" on one line with a no-break space.
    assert "up to 1.0\xa0KB" in form_page.content.decode()

    response = _upload(client, application, content=PDF + b"0" * 2048)

    assert response.status_code == 200
    (error,) = response.context["form"].errors["file"]
    assert "the limit is 1.0\xa0KB" in error
    assert not EvidenceDocument.objects.exists()


def test_it_needs_a_file_and_a_valid_kind(client, manufacturer, application):
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:evidence-upload", args=[application.pk]), {"kind": "diary"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"kind", "file"}


def test_a_new_version_supersedes_and_never_deletes(client, manufacturer, application):
    client.force_login(manufacturer)
    _upload(client, application, content=PDF, name="risk-v1.pdf")

    _upload(client, application, content=PDF + b"% v2\n", name="risk-v2.pdf")

    first, second = EvidenceDocument.objects.order_by("version")
    assert (first.version, first.is_current) == (1, False)
    assert (second.version, second.is_current, second.supersedes) == (2, True, first)
    assert Path(first.file.path).exists()
    page = client.get(reverse("devices:application-detail", args=[application.pk]))
    body = page.content.decode()
    assert "Earlier versions (1)" in body
    assert reverse("devices:evidence-download", args=[first.pk]) in body
    assert client.get(reverse("devices:evidence-download", args=[first.pk])).status_code == 200


def test_evidence_can_be_added_after_submission_but_not_once_decided(client, manufacturer):
    organisation = manufacturer.membership.organisation
    screening = make_application(ApplicationState.SCREENING, organisation=organisation)
    rejected = make_application(ApplicationState.REJECTED, organisation=organisation)
    client.force_login(manufacturer)

    assert _upload(client, screening, kind="performance").status_code == 302
    refused = client.get(reverse("devices:evidence-upload", args=[rejected.pk]), follow=True)
    posted = _upload(client, rejected, kind="performance")

    assert "no more evidence can be added" in refused.content.decode()
    assert posted.status_code == 302
    assert not rejected.evidence.filter(kind="performance").exists()


def test_the_evidence_step_uploads_and_shows_the_checklist(client, manufacturer, application):
    client.force_login(manufacturer)
    url = reverse("devices:application-step", args=[application.pk, 4])
    page = client.get(url)
    assert page.context["form"].initial["kind"] == EvidenceKind.RISK_MANAGEMENT
    assert page.content.decode().count("Missing") == 3

    response = client.post(
        url,
        {"kind": "risk_management", "file": SimpleUploadedFile("risk.pdf", PDF)},
    )

    assert response.url == url
    page = client.get(url)
    assert page.content.decode().count("Missing") == 2
    assert page.context["form"].initial["kind"] == EvidenceKind.CLINICAL_EVALUATION


def test_the_evidence_step_shows_upload_errors_in_place(client, manufacturer, application):
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:application-step", args=[application.pk, 4]),
        {"kind": "risk_management", "file": SimpleUploadedFile("risk.pdf", EXE)},
    )

    assert response.status_code == 200
    assert "file" in response.context["form"].errors


# --- Download --------------------------------------------------------------------------------


def test_it_downloads_through_the_permission_checked_view(client, manufacturer, application):
    client.force_login(manufacturer)
    _upload(client, application, name="Risk file (final).pdf")
    document = EvidenceDocument.objects.get()

    response = client.get(reverse("devices:evidence-download", args=[document.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "Risk file (final).pdf" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    # Shown rather than saved, the file would run with no scripts, forms or origin.
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"


def test_a_reviewer_can_download_once_submitted_but_another_organisation_cannot(
    client, manufacturer, other_manufacturer, reviewer, application
):
    client.force_login(manufacturer)
    _upload(client, application)
    url = reverse("devices:evidence-download", args=[EvidenceDocument.objects.get().pk])

    client.force_login(reviewer)
    # A draft is still the manufacturer's own: its evidence is as invisible as the draft.
    assert client.get(url).status_code == 404
    assert client.get(reverse("reviews:application", args=[application.pk])).status_code == 404
    application.submitted_at = timezone.now()
    application.save(update_fields=["submitted_at"])
    Application.objects.filter(pk=application.pk).update(state=ApplicationState.SUBMITTED)
    assert client.get(url).status_code == 200
    client.force_login(other_manufacturer)
    assert client.get(url).status_code == 404


def test_no_public_url_serves_the_stored_file(client, manufacturer, application):
    client.force_login(manufacturer)
    _upload(client, application)
    name = EvidenceDocument.objects.get().file.name

    for url in (f"/{name}", f"/media/{name}", f"/static/{name}"):
        assert client.get(url).status_code == 404, url


def test_download_refuses_anonymous_visitors_other_methods_and_missing_files(
    client, manufacturer, application
):
    client.force_login(manufacturer)
    _upload(client, application)
    document = EvidenceDocument.objects.get()
    url = reverse("devices:evidence-download", args=[document.pk])

    assert client.post(url).status_code == 405
    assert client.get(reverse("devices:evidence-download", args=[999999])).status_code == 404
    Path(document.file.path).unlink()
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_upload_refuses_other_methods(client, manufacturer, application):
    client.force_login(manufacturer)
    assert client.put(reverse("devices:evidence-upload", args=[application.pk])).status_code == 405


def test_a_text_file_named_pdf_is_called_text_not_csv(client, manufacturer, organisation):
    from django.core.files.uploadedfile import SimpleUploadedFile

    notes = SimpleUploadedFile("notes.pdf", b"Meeting notes, 3 June\nAttendees, Maya, Leo\n")

    with pytest.raises(ValidationError) as refused:
        inspect_upload(notes)

    assert "named .pdf but its contents are plain text" in str(refused.value)
    assert "CSV" not in str(refused.value).split("Upload")[0]
