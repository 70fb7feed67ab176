"""seed_demo's outputs: a cleared case with its PDFs, and a bundle that verifies offline."""

import hashlib

from django.core.management import call_command

from airlock.demo_outputs import CHALLENGE, bundle_path
from devices.models import Application, ApplicationState
from ledger import signing
from ledger.verify import chain_verify
from ledger.verify_bundle import verify_bundle


def test_it_seeds_a_cleared_case_with_its_documents_and_a_bundle_that_verifies(
    db, settings, tmp_path
):
    settings.BASE_DIR = tmp_path
    call_command("seed_demo")
    call_command("seed_demo")
    case = Application.objects.get(regulatory_challenge=CHALLENGE)
    assert case.state == ApplicationState.CLEARED
    documents = list(case.documents.all())
    assert {document.kind for document in documents} == {"decision_cleared", "exit_report"}
    for document in documents:
        with document.file.open("rb") as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == document.sha256
    assert verify_bundle(str(bundle_path(case.reference)), signing.public_key_hex()) == []
    assert chain_verify().ok
