"""Decision documents and exit reports: drawn as PDF/A on the documents queue, stored once with
their SHA-256, listed on both sides' case pages, and checkable by anyone on the public page."""

import contextlib
import hashlib
import re
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from devices.models import Application, ApplicationState
from devices.services import application_transition
from documents.models import CaseDocument, DocumentKind, DocumentRevocation
from documents.services import case_document_revoke, case_documents_issue, documents_missing
from documents.tasks import issue_missing_documents
from ledger.verify import chain_verify
from tests.factories import make_application

VERIFY = reverse("documents:verify")


def _cleared(organisation, manufacturer, lead_reviewer) -> Application:
    application = make_application(
        ApplicationState.EVIDENCE_REVIEW, organisation=organisation, created_by=manufacturer
    )
    application.decisions.update(countersigned_by=lead_reviewer, countersigned_at=timezone.now())
    Application.objects.filter(pk=application.pk).update(state=ApplicationState.CLEARED)
    return application


@pytest.fixture
def cleared(organisation, manufacturer, lead_reviewer):
    return _cleared(organisation, manufacturer, lead_reviewer)


@pytest.fixture
def issued(cleared):
    case_documents_issue(application_id=cleared.pk)
    return CaseDocument.objects.get(application=cleared, kind=DocumentKind.CLEARED)


def _streams(content: bytes) -> bytes:
    """The PDF's compressed streams, inflated: where its XMP metadata lives. A decompressor
    object ignores the end-of-line bytes between a stream's data and `endstream`."""
    inflated = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", content, re.DOTALL):
        with contextlib.suppress(zlib.error):
            inflated.append(zlib.decompressobj().decompress(stream))
    return b"".join(inflated)


def _bytes(document: CaseDocument) -> bytes:
    with document.file.open("rb") as handle:
        return handle.read()


def test_it_issues_the_decision_and_exit_report_once_as_pdf_a(cleared):
    issued = case_documents_issue(application_id=cleared.pk)
    assert {document.kind for document in issued} == {
        DocumentKind.CLEARED,
        DocumentKind.EXIT_REPORT,
    }
    for document in issued:
        content = _bytes(document)
        assert content.startswith(b"%PDF-")
        # The PDF's hash matches the stored one, and the file says it is PDF/A-3b.
        assert hashlib.sha256(content).hexdigest() == document.sha256
        assert document.size == len(content)
        assert b'pdfaid:part="3"' in _streams(content) or b"<pdfaid:part>3<" in _streams(content)
        assert document.pdf_variant == "pdf/a-3b"
    assert case_documents_issue(application_id=cleared.pk) == []
    assert CaseDocument.objects.filter(application=cleared).count() == 2
    assert chain_verify().ok


def test_it_issues_only_the_decision_for_a_rejection(organisation, manufacturer):
    application = make_application(
        ApplicationState.SCREENING, organisation=organisation, created_by=manufacturer
    )
    Application.objects.filter(pk=application.pk).update(state=ApplicationState.REJECTED)
    [document] = case_documents_issue(application_id=application.pk)
    assert document.kind == DocumentKind.REJECTED


def test_it_issues_nothing_for_a_case_not_decided(organisation, manufacturer):
    application = make_application(ApplicationState.SCREENING, organisation=organisation)
    assert case_documents_issue(application_id=application.pk) == []


def test_it_queues_the_documents_when_a_case_is_decided(monkeypatch, reviewer):
    sent = []
    monkeypatch.setattr(
        "devices.services.enqueue_on_commit", lambda name, *args: sent.append((name, *args))
    )
    application = make_application(ApplicationState.SCREENING)
    application_transition(
        application_id=application.pk, action="reject", actor=reviewer, reason="Out of scope."
    )
    assert ("documents.tasks.issue_case_documents", application.pk) in sent


def test_the_sweep_draws_documents_whose_task_never_ran(cleared):
    assert documents_missing() == [cleared.pk]
    assert issue_missing_documents() == 2
    assert documents_missing() == []
    assert issue_missing_documents() == 0


def test_an_issued_document_is_never_changed(issued):
    with pytest.raises(PermissionError):
        issued.save()
    with pytest.raises(PermissionError):
        issued.delete()


def test_both_sides_see_and_download_it(client, issued, manufacturer, reviewer):
    for person, page in [
        (manufacturer, reverse("devices:application-detail", args=[issued.application_id])),
        (reviewer, reverse("reviews:application", args=[issued.application_id])),
    ]:
        client.force_login(person)
        assert issued.reference in client.get(page).content.decode()
        response = client.get(reverse("documents:download", args=[issued.pk]))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == issued.sha256


def test_others_cannot_download_it(client, issued, other_manufacturer):
    url = reverse("documents:download", args=[issued.pk])
    assert client.get(url)["Location"].startswith(reverse("login"))
    client.force_login(other_manufacturer)
    assert client.get(url).status_code == 404
    assert client.get(reverse("documents:download", args=[99999])).status_code == 404


def test_anyone_can_check_a_fingerprint_and_learns_only_date_case_and_status(client, issued):
    assert client.get(VERIFY).status_code == 200
    page = client.post(VERIFY, {"sha256": issued.sha256.upper()}).content.decode()
    assert f"for case {issued.application.reference}" in page
    assert "Not revoked" in page
    # Nothing else about the case: not the manufacturer, the device, or the document's kind.
    application = issued.application
    for secret in [application.organisation.name, application.device.name, "cleared"]:
        assert secret not in page


def test_anyone_can_check_the_pdf_itself(client, issued):
    content = _bytes(issued)
    found = client.post(VERIFY, {"file": SimpleUploadedFile("d.pdf", content)}).content
    assert b"Issued by Airlock on" in found
    tampered = content[:-10] + bytes([content[-10] ^ 1]) + content[-9:]
    missing = client.post(VERIFY, {"file": SimpleUploadedFile("d.pdf", tampered)}).content
    assert b"No document issued by Airlock has this fingerprint" in missing


def test_it_says_when_a_document_was_revoked(client, issued, admin_user, reviewer):
    with pytest.raises(PermissionError):
        case_document_revoke(actor=reviewer, document_id=issued.pk, reason="Wrong.")
    case_document_revoke(actor=admin_user, document_id=issued.pk, reason="Issued in error.")
    with pytest.raises(ValueError, match="already revoked"):
        case_document_revoke(actor=admin_user, document_id=issued.pk, reason="Again.")
    page = client.post(VERIFY, {"sha256": issued.sha256}).content.decode()
    assert "Revoked" in page
    assert "Issued in error" not in page
    assert DocumentRevocation.objects.count() == 1
    assert chain_verify().ok


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, b"Paste the fingerprint or choose the PDF"),
        ({"sha256": "abc"}, b"64 characters"),
        ({"sha256": "z" * 64}, b"64 characters"),
    ],
)
def test_it_explains_bad_input(client, data, error, db):
    response = client.post(VERIFY, data)
    assert response.status_code == 200
    assert error in response.content


def test_it_refuses_a_file_over_the_limit(client, settings, db):
    settings.VERIFY_MAX_UPLOAD_BYTES = 10
    response = client.post(VERIFY, {"file": SimpleUploadedFile("d.pdf", b"%PDF-" + b"x" * 20)})
    assert b"larger than" in response.content


def test_it_limits_checks_per_address(client, settings, db):
    settings.VERIFY_REQUESTS_PER_MINUTE = 3
    answers = [client.post(VERIFY, {"sha256": "0" * 64}).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
