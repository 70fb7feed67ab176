"""The evidence upload service itself, called directly as the API and the admin call it: what
it records, and what it says and leaves behind when the file store fails.

The pages in front of it are tested in test_evidence_views.py and, on both stores,
test_evidence_storage.py; these pin the service's own words, which every caller shows.
"""

import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from airlock import storage
from devices.models import ApplicationState, EvidenceDocument, EvidenceKind
from devices.services import TransitionRefused, evidence_upload
from devices.uploads import InspectedUpload
from tests.factories import make_application
from tests.refusals import refused

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\nrisk management file"


def pdf_upload() -> InspectedUpload:
    return InspectedUpload(
        file=SimpleUploadedFile("risk.pdf", PDF, content_type="application/pdf"),
        name="risk.pdf",
        content_type="application/pdf",
    )


@pytest.fixture
def application(organisation):
    return make_application(ApplicationState.SUBMITTED, organisation=organisation)


def upload(application, actor, **kwargs):
    return evidence_upload(
        application=application,
        actor=actor,
        kind=EvidenceKind.RISK_MANAGEMENT,
        upload=pdf_upload(),
        **kwargs,
    )


def test_it_records_an_upload_without_a_title_as_untitled(application, manufacturer):
    document = upload(application, manufacturer)

    document.refresh_from_db()
    assert (document.title, document.original_name, document.content_type) == (
        "",
        "risk.pdf",
        "application/pdf",
    )
    assert (document.size, document.uploaded_by) == (len(PDF), manufacturer)


def test_it_records_the_title_given(application, manufacturer):
    document = upload(application, manufacturer, title="Hazard log, March")

    document.refresh_from_db()
    assert document.title == "Hazard log, March"


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (
            storage.IntegrityFailure("stored as something else"),
            "The file did not arrive intact in storage, so it was not saved. Upload it again.",
        ),
        (
            storage.StoreUnavailable("connection refused"),
            "The file store is not answering, so the file was not saved. Try again in a few "
            "minutes.",
        ),
    ],
)
def test_it_refuses_an_upload_the_store_did_not_keep_and_records_nothing(
    application, manufacturer, monkeypatch, failure, message
):
    def failing_store(*args, **kwargs):
        raise failure

    monkeypatch.setattr(storage, "store_verified", failing_store)
    before = EvidenceDocument.objects.count()

    with refused(TransitionRefused, message):
        upload(application, manufacturer)

    assert EvidenceDocument.objects.count() == before


def test_it_logs_an_unavailable_store_for_the_operators(application, manufacturer, monkeypatch):
    def unavailable(*args, **kwargs):
        raise storage.StoreUnavailable("connection refused")

    monkeypatch.setattr(storage, "store_verified", unavailable)
    logger = logging.getLogger("devices.services")
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        with pytest.raises(TransitionRefused):
            upload(application, manufacturer)
    finally:
        logger.removeHandler(handler)

    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.ERROR, "evidence upload: the file store is unavailable")
    ]
    assert records[0].exc_info[0] is storage.StoreUnavailable
