"""Case bundles: a zip of the case's evidence, documents and audit rows with a signed manifest,
checked offline by ledger/verify_bundle.py (standard library only)."""

import io
import json
import subprocess
import sys
import zipfile

import pytest
from django.urls import reverse

from devices.models import ApplicationState
from ledger import signing, verify_bundle
from tests.factories import add_evidence, make_application


@pytest.fixture
def case(organisation, manufacturer):
    application = make_application(
        ApplicationState.SUBMITTED, organisation=organisation, created_by=manufacturer
    )
    add_evidence(application, "other", version=1, by=manufacturer)
    return application


def _download(client, person, case) -> bytes:
    client.force_login(person)
    response = client.get(reverse("documents:bundle", args=[case.pk]))
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/zip"
    return b"".join(response.streaming_content)


def _write(tmp_path, content: bytes, name="bundle.zip"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _rewrite(content: bytes, change) -> bytes:
    """The same zip with one member's bytes changed by `change(name, data)`."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            target.writestr(name, change(name, source.read(name)))
    return out.getvalue()


@pytest.mark.parametrize("persona", ["manufacturer", "lead_reviewer", "admin_user"])
def test_it_exports_a_bundle_that_verifies_offline(client, request, case, tmp_path, persona):
    content = _download(client, request.getfixturevalue(persona), case)
    bundle = zipfile.ZipFile(io.BytesIO(content))
    names = set(bundle.namelist())
    assert {"manifest.json", "manifest.sig", "audit.json", "verify_bundle.py"} <= names
    evidence = [name for name in names if name.startswith("evidence/")]
    assert len(evidence) == case.evidence.count()
    audit = json.loads(bundle.read("audit.json"))
    assert {row["case"] for row in audit} == {case.reference}
    assert verify_bundle.verify_bundle(_write(tmp_path, content), signing.public_key_hex()) == []


def test_one_byte_changed_fails_verification(client, manufacturer, case, tmp_path):
    content = _download(client, manufacturer, case)
    evidence = next(n for n in zipfile.ZipFile(io.BytesIO(content)).namelist() if "evidence/" in n)

    def flip(name, data):
        return data[:-1] + bytes([data[-1] ^ 1]) if name == evidence else data

    problems = verify_bundle.verify_bundle(
        _write(tmp_path, _rewrite(content, flip)), signing.public_key_hex()
    )
    assert problems == [f"{evidence} does not match its SHA-256 in the manifest."]


def test_a_changed_manifest_or_another_key_fails(client, manufacturer, case, tmp_path):
    content = _download(client, manufacturer, case)

    def edit(name, data):
        return data.replace(b'"size": ', b'"size":  ') if name == "manifest.json" else data

    key = signing.public_key_hex()
    assert (
        "signature does not match"
        in verify_bundle.verify_bundle(_write(tmp_path, _rewrite(content, edit)), key)[0]
    )
    other = "11" * 32
    assert (
        "signature does not match"
        in verify_bundle.verify_bundle(_write(tmp_path, content), other)[0]
    )
    assert verify_bundle.verify_bundle(_write(tmp_path, b"not a zip"), key)[0].startswith("Not a")


def test_the_verifier_runs_as_a_command_with_the_published_key(
    client, manufacturer, case, tmp_path
):
    path = _write(tmp_path, _download(client, manufacturer, case))
    client.logout()
    key = client.get(reverse("documents:bundle-public-key")).content.decode().strip()
    # Run from the bundle's own copy, outside the project: the standard library only.
    script = tmp_path / "verify_bundle.py"
    script.write_bytes(zipfile.ZipFile(path).read("verify_bundle.py"))
    done = subprocess.run(
        [sys.executable, "-I", str(script), str(path), "--public-key", key],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Bundle verified" in done.stdout


def test_the_signing_key_comes_from_settings(settings):
    # RFC 8032, section 7.1, test 1: its secret key and public key.
    settings.BUNDLE_SIGNING_KEY = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    assert signing.public_key_hex() == public
    signature = bytes.fromhex(signing.sign(b""))
    assert verify_bundle.ed25519_verify(bytes.fromhex(public), b"", signature)
    assert not verify_bundle.ed25519_verify(bytes.fromhex(public), b"x", signature)


@pytest.mark.parametrize("persona", ["reviewer", "other_manufacturer"])
def test_others_cannot_export_it(client, request, case, persona):
    client.force_login(request.getfixturevalue(persona))
    status = client.get(reverse("documents:bundle", args=[case.pk])).status_code
    assert status == (403 if persona == "reviewer" else 404)


def test_visitors_are_sent_to_sign_in(client, case):
    response = client.get(reverse("documents:bundle", args=[case.pk]))
    assert response["Location"].startswith(reverse("login"))
