"""The evidence suite, run twice: on the local disk and on an S3 API over real HTTP (moto's
server, tests/s3.py). Uploads are verified by hash as they go in, downloads stay permission-
checked, `verify_evidence` finds what went missing or changed, `migrate_evidence` moves files
from disk to the bucket."""

import hashlib
import re
import urllib.request
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from airlock import storage
from devices.models import Application, ApplicationState, EvidenceDocument
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# Past one read chunk, so a download streams in pieces (ranged GETs on S3).
LARGE_PDF = PDF + b"%" + bytes(range(256)) * (3 * 4096)
ANONYMOUS_KEY = re.compile(r"^evidence/([0-9a-f]{2})/\1[0-9a-f]{30}$")


@pytest.fixture
def application(manufacturer):
    return ApplicationFactory(
        organisation=manufacturer.membership.organisation, created_by=manufacturer
    )


def _upload(client, application, content=PDF, name="risk.pdf", kind="risk_management"):
    return client.post(
        reverse("devices:evidence-upload", args=[application.pk]),
        {"kind": kind, "title": "", "file": SimpleUploadedFile(name, content)},
    )


def _download(client, document) -> bytes:
    response = client.get(reverse("devices:evidence-download", args=[document.pk]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def _overwrite(name: str, content: bytes) -> None:
    """Change a stored object behind Airlock's back."""
    store = storage.backend()
    store.delete(name)
    assert store.save(name, ContentFile(content)) == name


def test_it_stores_an_upload_under_a_key_that_reveals_nothing_and_serves_it_back(
    client, manufacturer, reviewer, application, evidence_store
):
    client.force_login(manufacturer)

    response = _upload(client, application, content=LARGE_PDF, name="Acme risk file.pdf")

    assert response.status_code == 302
    document = EvidenceDocument.objects.get()
    assert document.sha256 == hashlib.sha256(LARGE_PDF).hexdigest()
    assert ANONYMOUS_KEY.match(document.file.name), document.file.name
    assert storage.sha256_of(document.file.name) == document.sha256
    # The regulator sees a case's evidence once the case is submitted.
    Application.objects.filter(pk=application.pk).update(
        state=ApplicationState.SUBMITTED, submitted_at=timezone.now()
    )
    client.force_login(reviewer)
    response = client.get(reverse("devices:evidence-download", args=[document.pk]))
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(LARGE_PDF))
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == LARGE_PDF


def test_another_organisation_gets_a_404_whatever_the_store(
    client, manufacturer, other_manufacturer, application, evidence_store
):
    client.force_login(manufacturer)
    _upload(client, application)
    client.force_login(other_manufacturer)

    url = reverse("devices:evidence-download", args=[EvidenceDocument.objects.get().pk])

    assert client.get(url).status_code == 404


def test_a_file_missing_from_the_store_is_a_404_not_a_500(
    client, manufacturer, application, evidence_store
):
    client.force_login(manufacturer)
    _upload(client, application)
    document = EvidenceDocument.objects.get()
    storage.backend().delete(document.file.name)

    response = client.get(reverse("devices:evidence-download", args=[document.pk]))

    assert response.status_code == 404


def test_an_upload_the_store_does_not_keep_intact_is_refused_and_not_recorded(
    client, manufacturer, application, evidence_store, monkeypatch
):
    backend_class = type(storage.backend())
    save = backend_class._save
    kept = []

    def corrupting_save(self, name, content):
        kept.append(name)
        return save(self, name, ContentFile(b"%PDF-1.7 something else entirely"))

    monkeypatch.setattr(backend_class, "_save", corrupting_save)
    client.force_login(manufacturer)

    response = _upload(client, application)

    assert response.status_code == 200
    assert "did not arrive intact in storage" in response.content.decode()
    assert not EvidenceDocument.objects.exists()
    assert kept
    assert not storage.backend().exists(kept[0])


def test_a_new_version_is_stored_beside_the_old_one(
    client, manufacturer, application, evidence_store
):
    client.force_login(manufacturer)
    _upload(client, application, content=PDF)
    _upload(client, application, content=LARGE_PDF)

    first, second = EvidenceDocument.objects.order_by("version")

    assert (first.is_current, second.is_current) == (False, True)
    assert first.file.name != second.file.name
    assert (_download(client, first), _download(client, second)) == (PDF, LARGE_PDF)


def test_verify_evidence_reports_files_missing_or_changed(
    client, manufacturer, application, evidence_store
):
    client.force_login(manufacturer)
    for kind in ("risk_management", "clinical_evaluation", "data_protection"):
        _upload(client, application, kind=kind)
    out = StringIO()
    call_command("verify_evidence", stdout=out)
    assert "Checked 3 evidence files: 3 intact." in out.getvalue()

    missing, changed, _intact = EvidenceDocument.objects.order_by("pk")
    storage.backend().delete(missing.file.name)
    _overwrite(changed.file.name, PDF.replace(b"1.7", b"1.4"))
    err = StringIO()
    with pytest.raises(
        CommandError, match="Checked 3 evidence files: 1 intact, 1 missing, 1 changed"
    ):
        call_command("verify_evidence", stdout=StringIO(), stderr=err)

    report = err.getvalue()
    assert f"MISSING: evidence {missing.pk} ({application.reference}" in report
    assert f"CHANGED: evidence {changed.pk} ({application.reference}" in report
    assert changed.file.name in report


def test_the_store_is_ready(db, evidence_store):
    assert storage.check() is None


# --- The object store only ----------------------------------------------------------------


def test_objects_are_private_and_encrypted_at_rest(
    client, manufacturer, application, s3_storage, s3_server
):
    client.force_login(manufacturer)
    _upload(client, application)
    document = EvidenceDocument.objects.get()
    s3 = s3_server.client()

    head = s3.head_object(Bucket=s3_storage, Key=document.file.name)
    grants = s3.get_object_acl(Bucket=s3_storage, Key=document.file.name)["Grants"]

    assert head["ServerSideEncryption"] == "AES256"
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]
    assert "URI" not in grants[0]["Grantee"]  # the owner, not AllUsers or AuthenticatedUsers


def test_redirect_mode_hands_out_a_link_that_expires_within_a_minute(
    client, settings, manufacturer, other_manufacturer, application, s3_storage
):
    settings.EVIDENCE_DOWNLOAD = "redirect"
    client.force_login(manufacturer)
    _upload(client, application, name="Risk file.pdf")
    url = reverse("devices:evidence-download", args=[EvidenceDocument.objects.get().pk])

    response = client.get(url)

    assert response.status_code == 302
    link = response["Location"]
    query = parse_qs(urlsplit(link).query)
    assert query["X-Amz-Expires"] == ["30"]
    assert urlsplit(link).path.startswith(f"/{s3_storage}/evidence/")
    with urllib.request.urlopen(link, timeout=10) as fetched:
        assert fetched.read() == PDF
        assert fetched.headers["Content-Type"] == "application/pdf"
        assert fetched.headers["Content-Disposition"] == (
            "attachment; filename*=UTF-8''Risk%20file.pdf"
        )
    client.force_login(other_manufacturer)
    assert client.get(url).status_code == 404


def test_a_missing_bucket_makes_the_store_unready(db, settings, s3_storage):
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            **settings.STORAGES["private"],
            "OPTIONS": {**settings.STORAGES["private"]["OPTIONS"], "bucket_name": "no-such"},
        },
    }

    assert storage.check() == "ClientError"


# --- Moving evidence from the disk to the bucket ------------------------------------------


def test_migrate_evidence_copies_each_file_once_verifying_its_hash(
    client, settings, manufacturer, application, s3_server
):
    client.force_login(manufacturer)
    _upload(client, application, content=PDF)
    _upload(client, application, content=LARGE_PDF)
    _upload(client, application, kind="clinical_evaluation")
    # A file from before keys were anonymous, named after its case.
    legacy = EvidenceDocument.objects.get(kind="clinical_evaluation")
    legacy_name = f"evidence/{application.pk}/{'a' * 32}"
    storage.backend().save(legacy_name, ContentFile(PDF))
    EvidenceDocument.objects.filter(pk=legacy.pk).update(file=legacy_name)
    before = dict(EvidenceDocument.objects.values_list("pk", "file"))
    bucket = s3_server.new_bucket()
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "airlock.storage.PrivateS3Storage",
            "OPTIONS": {"bucket_name": bucket, "endpoint_url": s3_server.endpoint},
        },
    }

    out = StringIO()
    call_command("migrate_evidence", "--to", "s3", stdout=out)
    again = StringIO()
    call_command("migrate_evidence", "--to", "s3", stdout=again)

    assert "Copied 3 evidence files to" in out.getvalue()
    assert "Copied 0 evidence files to" in again.getvalue()
    assert "3 were there already" in again.getvalue()
    after = dict(EvidenceDocument.objects.values_list("pk", "file"))
    assert after[legacy.pk] != legacy_name
    assert ANONYMOUS_KEY.match(after[legacy.pk])
    assert {pk: name for pk, name in after.items() if pk != legacy.pk} == {
        pk: name for pk, name in before.items() if pk != legacy.pk
    }
    verified = StringIO()
    call_command("verify_evidence", stdout=verified)
    assert "Checked 3 evidence files: 3 intact." in verified.getvalue()
    assert _download(client, EvidenceDocument.objects.get(kind="risk_management", version=2)) == (
        LARGE_PDF
    )


def test_migrate_evidence_leaves_a_file_changed_on_disk_behind_and_says_so(
    client, settings, manufacturer, application, s3_server
):
    client.force_login(manufacturer)
    _upload(client, application)
    document = EvidenceDocument.objects.get()
    _overwrite(document.file.name, PDF + b"% appended later\n")
    bucket = s3_server.new_bucket()
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "airlock.storage.PrivateS3Storage",
            "OPTIONS": {"bucket_name": bucket, "endpoint_url": s3_server.endpoint},
        },
    }
    err = StringIO()

    with pytest.raises(CommandError, match=r"Copied 0 evidence files to .*; 1 could not be copied"):
        call_command("migrate_evidence", "--to", "s3", stdout=StringIO(), stderr=err)

    assert f"NOT COPIED, CHANGED: evidence {document.pk}" in err.getvalue()
    assert not storage.backend().exists(document.file.name)


def test_migrate_evidence_needs_an_object_store_to_copy_to(db):
    with pytest.raises(CommandError, match="set STORAGE_URL"):
        call_command("migrate_evidence", "--to", "s3")


# --- An object store that does not answer -------------------------------------------------


@pytest.fixture
def dead_store(settings, s3_storage):
    """The bucket's settings, pointed at a port where nothing listens."""
    options = settings.STORAGES["private"]["OPTIONS"]
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            **settings.STORAGES["private"],
            "OPTIONS": {**options, "endpoint_url": "http://127.0.0.1:9"},
        },
    }
    settings.STORAGE_CONNECT_TIMEOUT = 1


def test_an_upload_while_the_store_is_down_is_refused_with_a_reason(
    client, manufacturer, application, dead_store
):
    client.force_login(manufacturer)

    response = _upload(client, application)

    assert response.status_code == 200
    assert "The file store is not answering" in response.content.decode()
    assert not EvidenceDocument.objects.exists()


def test_a_download_while_the_store_is_down_says_try_again_not_500(
    client, manufacturer, application, s3_storage, settings
):
    client.force_login(manufacturer)
    _upload(client, application)
    document = EvidenceDocument.objects.get()
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            **settings.STORAGES["private"],
            "OPTIONS": {
                **settings.STORAGES["private"]["OPTIONS"],
                "endpoint_url": "http://127.0.0.1:9",
            },
        },
    }

    response = client.get(reverse("devices:evidence-download", args=[document.pk]))

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert "not answering" in response.content.decode()
    assert storage.check() is not None  # and readiness says so


def test_new_keys_are_told_apart_from_keys_that_name_the_case():
    from devices.evidence_store import ANONYMOUS_KEY as KEPT
    from devices.models import evidence_path

    # Fan-out folders made only of digits ("33") included: 2,000 keys make that near certain.
    assert all(KEPT.match(evidence_path(None, "x.pdf")) for _ in range(2000))
    assert not KEPT.match(f"evidence/33/{'a' * 32}")
    assert not KEPT.match(f"evidence/1234/{'0' * 32}")


def test_the_commands_say_so_when_the_store_does_not_answer(db, dead_store, manufacturer):
    application = ApplicationFactory(organisation=manufacturer.membership.organisation)
    EvidenceDocument.objects.create(
        application=application,
        kind="risk_management",
        file=f"evidence/ab/ab{'0' * 30}",
        original_name="risk.pdf",
        content_type="application/pdf",
        size=len(PDF),
        sha256=hashlib.sha256(PDF).hexdigest(),
        uploaded_by=manufacturer,
    )

    with pytest.raises(CommandError, match="The file store is not answering"):
        call_command("verify_evidence", stdout=StringIO())
    with pytest.raises(CommandError, match="The object store stopped answering"):
        call_command("migrate_evidence", "--to", "s3", stdout=StringIO())
