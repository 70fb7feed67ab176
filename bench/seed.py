"""Create (or refresh) the benchmark database and load 100k applications into it.

    .venv/bin/python bench/seed.py [--applications N] [--fresh]

Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/airlock_bench). Safe to
run again: the scale seeder only adds what is missing. `--fresh` drops the database first.
Besides the scale data (200 organisations, 600 devices, the applications spread over the
states as a busy programme would be), it writes one case with a long history for the page
benchmarks: Demo Diagnostics' own, in evidence review, with audit rows, messages, notes and
several evidence versions.
"""

import argparse
import time
from datetime import timedelta

from benchlib import (
    CASE_REFERENCE,
    MAKER,
    database_url,
    ensure_database,
    setup_django,
    vacuum_analyze,
)

CASE_EVENTS = 40
CASE_MESSAGES = 30
CASE_NOTES = 10
CASE_EVIDENCE_VERSIONS = 3
# A realistic path through the sandbox, repeated until the case has CASE_EVENTS audit rows.
CASE_PATH = [
    ("submit", "draft", "submitted"),
    ("start_screening", "submitted", "screening"),
    ("request_information", "screening", "information_requested"),
    ("respond", "information_requested", "screening"),
    ("accept", "screening", "accepted"),
    ("begin_testing", "accepted", "in_controlled_testing"),
    ("suspend", "in_controlled_testing", "suspended"),
    ("resume", "suspended", "in_controlled_testing"),
    ("complete_testing", "in_controlled_testing", "evidence_review"),
    ("extend_testing", "evidence_review", "in_controlled_testing"),
]


def seed_case() -> None:
    from django.db import transaction
    from django.utils import timezone

    from airlock.models import User
    from devices.models import REQUIRED_EVIDENCE, Application, ApplicationEvent, Message
    from ledger.chain import record_many
    from reviews.models import InternalNote
    from tests.factories import DeviceFactory, add_evidence, make_application

    if Application.objects.filter(reference=CASE_REFERENCE).exists():
        return
    maker = User.objects.get(email=MAKER)
    lead = User.objects.get(email="lead@demo.airlock")
    organisation = maker.membership.organisation
    with transaction.atomic():
        case = make_application(
            "evidence_review",
            reference=CASE_REFERENCE,
            organisation=organisation,
            device=DeviceFactory(organisation=organisation, created_by=maker),
            created_by=maker,
            assignee=lead,
        )
        started = timezone.now() - timedelta(days=200)
        steps = [CASE_PATH[n % len(CASE_PATH)] for n in range(CASE_EVENTS - 1)]
        steps.append(("complete_testing", "in_controlled_testing", "evidence_review"))
        # bulk_create skips save(), so the rows are chained into the audit ledger here.
        events = ApplicationEvent.objects.bulk_create(
            ApplicationEvent(
                application=case,
                actor=maker if action in {"submit", "respond"} else lead,
                transition=action,
                from_state=source,
                to_state=target,
                reason=f"Step {n + 1} of the benchmark history.",
                created_at=started + timedelta(days=n * 4),
            )
            for n, (action, source, target) in enumerate(steps)
        )
        record_many(events)
        Message.objects.bulk_create(
            Message(
                application=case,
                author=lead if n % 2 else maker,
                from_regulator=bool(n % 2),
                body=f"Message {n + 1} about the site set-up and the latest figures.",
                created_at=started + timedelta(days=n * 5, hours=3),
            )
            for n in range(CASE_MESSAGES)
        )
        InternalNote.objects.bulk_create(
            InternalNote(
                application=case,
                author=lead,
                body=f"Reviewer note {n + 1}.",
                created_at=started + timedelta(days=n * 15),
            )
            for n in range(CASE_NOTES)
        )
        for version in range(2, CASE_EVIDENCE_VERSIONS + 1):
            for kind in REQUIRED_EVIDENCE:
                case.evidence.filter(kind=kind).update(is_current=False)
                add_evidence(case, kind, version=version)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--fresh", action="store_true", help="drop the database first")
    args = parser.parse_args()
    url = database_url()
    started = time.perf_counter()
    ensure_database(url, fresh=args.fresh)
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo", applications=args.applications, verbosity=1)
    seed_case()
    vacuum_analyze(url)
    print(f"seed: {url.rsplit('/', 1)[1]} ready in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
