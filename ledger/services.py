"""The nightly check of the audit chain, and the alert when it fails."""

import logging

from django.urls import reverse
from django.utils import timezone

from airlock.models import User
from ledger.verify import ChainReport, chain_verify
from notifications.models import NotificationKind
from notifications.recipients import Recipient
from notifications.services import notify

logger = logging.getLogger(__name__)


def audit_chain_check() -> ChainReport:
    """Verify the chain; on failure, log an error and tell every active administrator.

    Steps: walk the chain (ledger.verify); log the outcome with the head's number and hash (a
    copy of the head in the logs, outside the database, is what shows a rewrite of the whole
    chain); on a problem, one notification per administrator per day and problem, so a rerun
    the same day tells no one twice.
    """
    report = chain_verify()
    if report.ok:
        logger.info("Audit chain verified: %s links, head %s", report.checked, report.head_hash)
        return report
    logger.error("Audit chain verification failed at %s", report.problem)
    admins = User.objects.filter(is_superuser=True, is_active=True).order_by("pk")
    notify(
        [
            Recipient(pk, email, name)
            for pk, email, name in admins.values_list("pk", "email", "full_name")
        ],
        application=None,
        kind=NotificationKind.AUDIT_CHAIN_BROKEN,
        key=f"audit-chain:{timezone.localdate().isoformat()}:{report.problem.seq}",
        title="The audit trail failed verification",
        body=f"The nightly check of the audit chain failed at {report.problem}. "
        "Run `manage.py verify_audit` and investigate before anything else is changed.",
        url=reverse("admin:ledger_chainlink_changelist"),
    )
    return report
