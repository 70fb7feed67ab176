"""Demo outputs: a case taken through to clearance with its decision documents, and its case
bundle written to var/demo/ and checked offline. Made once; `seed_demo` runs it after the cases.
"""

import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from airlock.demo import DEMO_USERS, _draft, _in_testing
from airlock.models import User
from devices.models import Application, Device
from devices.services import application_transition
from documents.bundles import case_bundle_build
from documents.services import case_documents_issue
from ledger import signing
from ledger.verify_bundle import verify_bundle
from reviews.decisions import (
    PrincipleRating,
    clearance_countersign,
    decision_record,
    evidence_assess,
)
from reviews.models import Cohort, DecisionKind, GmlpPrinciple, GmlpRating
from reviews.services import application_assign

logger = logging.getLogger(__name__)

CHALLENGE = "What evidence shows a locked model keeps its performance across NHS sites?"


def bundle_path(reference: str) -> Path:
    return Path(settings.BASE_DIR) / "var" / "demo" / f"{reference}-bundle.zip"


def seed_demo_outputs() -> Path | None:
    """Clear one demo case through the real services, issue its documents, and write its
    bundle; return the bundle's path (None when the case was already there)."""
    maker = User.objects.get(email=DEMO_USERS[0].email)
    reviewer = User.objects.get(email=DEMO_USERS[2].email)
    lead = User.objects.get(email=DEMO_USERS[3].email)
    if Application.objects.filter(regulatory_challenge=CHALLENGE).exists():
        return None
    today = timezone.localdate()
    cohort, _ = Cohort.objects.get_or_create(
        name=f"Phase 3 ({today.year}-{(today.year + 1) % 100:02d})",
        defaults={"starts_on": today - timedelta(days=120), "ends_on": today + timedelta(days=300)},
    )
    device = Device.objects.get(
        organisation=maker.membership.organisation, name="LungScan COPD Detector"
    )
    case = _draft(maker, device, challenge=CHALLENGE)
    _in_testing(case, maker, reviewer, cohort, today)
    application_assign(application_id=case.pk, actor=lead, reviewer=reviewer)
    application_transition(
        application_id=case.pk,
        action="complete_testing",
        actor=reviewer,
        reason="Both sites reported every checkpoint the demo needs; testing closed early.",
        confirmed=True,
    )
    evidence_assess(
        application_id=case.pk,
        actor=reviewer,
        ratings=[
            PrincipleRating(principle, GmlpRating.MET, "Met: shown in the checkpoint reports.")
            for principle in GmlpPrinciple.values
        ],
    )
    decision_record(
        application_id=case.pk,
        actor=reviewer,
        kind=DecisionKind.CLEAR,
        rationale="Sensitivity and specificity held above their thresholds at both sites.",
    )
    clearance_countersign(application_id=case.pk, actor=lead)
    # The worker would draw them after commit; the demo has none running yet. Without Pango
    # (a bare machine: WeasyPrint cannot load it) the demo still loads, says so in one line,
    # and the documents' repair sweep draws them once Pango is there.
    try:
        case_documents_issue(application_id=case.pk)
    except OSError as exc:
        logger.warning(
            "Demo decision PDFs not drawn (%s): install Pango (apt-get install libpango-1.0-0).",
            exc,
        )
    case.refresh_from_db()
    path = bundle_path(case.reference)
    path.parent.mkdir(parents=True, exist_ok=True)
    with case_bundle_build(actor=lead, application=case) as bundle:
        path.write_bytes(bundle.read())
    problems = verify_bundle(str(path), signing.public_key_hex())
    if problems:
        raise RuntimeError(f"The demo bundle does not verify: {problems[0]}")
    return path
