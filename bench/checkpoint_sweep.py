"""Benchmark: the checkpoint sweep over N applications in controlled testing.

    .venv/bin/python bench/checkpoint_sweep.py [--applications 100000]

Recreates its own PostgreSQL database (BENCH_DATABASE_URL's name + "_sweep": the sweep writes,
so it never runs on the queue benchmarks' data) and fills it, set-based, with N cases in
testing across 1,000 organisations, each with an agreed plan (28-day cadence, a sensitivity
threshold) that started on one of the last 20 weeks' days, and a tenth as many cleared cases
under an active post-clearance monitoring plan (the same cadence and spread of starts), whose
checkpoints the same sweep schedules. Then it times the sweep:

1. catch-up: the first run ever, so every checkpoint due over those 20 weeks is created,
   reminded, marked overdue and escalated at once, with the emails;
2. again: the same day, which must create, stamp and send nothing;
3. next day and 4. next day again: an ordinary daily run, then its repeat.

The sweep only writes the emails it owes (an outbox row each, `reviews.CheckpointEmail`); the
`emails` queue's tasks send them. Each run's owed emails are sent after it, in this process,
and timed apart ("sent apart in"), so a run's seconds are the sweep task's own.

Target (DESIGN.md): each run under 10 s on 2 cores, and a repeat creates nothing.
"""

import argparse
import os
import resource
import time
from datetime import timedelta
from pathlib import Path

from benchlib import database_url, ensure_database, setup_django, vacuum_analyze, write_result

ORGANISATIONS = 1000
BATCH = 10_000
PLAN_START_SPREAD_DAYS = 140
CADENCE_DAYS = 28
# One cleared case under post-clearance monitoring for every this many in testing.
MONITORED_RATIO = 10


def build(count: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from airlock.models import User
    from devices.models import (
        AiType,
        Application,
        ApplicationState,
        CareSetting,
        ClinicalArea,
        Device,
        MdrClass,
        Membership,
        Organisation,
        OrganisationRole,
        SandboxEnvironment,
        Significance,
        Situation,
    )
    from reviews.models import Metric, MetricThreshold, TestingPlan

    owner = User.objects.create_user("bench@example.test", full_name="Bench Owner")
    reviewer = User.objects.create_user("reviewer@example.test", full_name="Bench Reviewer")
    organisations = Organisation.objects.bulk_create(
        Organisation(name=f"Bench organisation {n:04d}") for n in range(ORGANISATIONS)
    )
    makers = User.objects.bulk_create(
        User(email=f"maker{n}@example.test", full_name=f"Maker {n}") for n in range(ORGANISATIONS)
    )
    Membership.objects.bulk_create(
        Membership(user=maker, organisation=organisation, role=OrganisationRole.ADMINISTRATOR)
        for maker, organisation in zip(makers, organisations, strict=True)
    )
    devices = Device.objects.bulk_create(
        Device(
            organisation=organisation,
            name="Bench model",
            version="1",
            intended_purpose="-",
            clinical_area=ClinicalArea.RADIOLOGY,
            care_setting=CareSetting.SECONDARY,
            mdr_class=MdrClass.IIA,
            significance=Significance.DRIVE,
            situation=Situation.SERIOUS,
            imdrf_category="II",
            ai_type=AiType.LOCKED,
            model_summary="-",
            training_data_summary="-",
            created_by=owner,
        )
        for organisation in organisations
    )
    today = timezone.localdate()
    for start in range(0, count, BATCH):
        with transaction.atomic():
            applications = Application.objects.bulk_create(
                Application(
                    reference=f"AIA-2030-{n:06d}",
                    organisation_id=devices[n % ORGANISATIONS].organisation_id,
                    device=devices[n % ORGANISATIONS],
                    state=ApplicationState.IN_CONTROLLED_TESTING,
                    assignee=reviewer,
                    created_by=owner,
                )
                for n in range(start, min(start + BATCH, count))
            )
            plans = TestingPlan.objects.bulk_create(
                TestingPlan(
                    application=application,
                    environment=SandboxEnvironment.VIRTUAL,
                    starts_on=today - timedelta(days=application.pk % PLAN_START_SPREAD_DAYS),
                    ends_on=today
                    - timedelta(days=application.pk % PLAN_START_SPREAD_DAYS)
                    + timedelta(days=180),
                    cadence_days=CADENCE_DAYS,
                    drafted_by=reviewer,
                    agreed_by=reviewer,
                    agreed_at=timezone.now(),
                )
                for application in applications
            )
            MetricThreshold.objects.bulk_create(
                MetricThreshold(plan=plan, metric=Metric.SENSITIVITY, value="0.90")
                for plan in plans
            )
    build_monitored(count // MONITORED_RATIO, devices=devices, reviewer=reviewer, today=today)


def build_monitored(count: int, *, devices, reviewer, today) -> None:
    """Cleared cases under an active post-clearance monitoring plan, set-based."""
    from django.db import transaction

    from devices.models import Application, ApplicationState
    from postclearance.models import MonitoringPlan, MonitoringThreshold
    from reviews.models import Metric

    for start in range(0, count, BATCH):
        with transaction.atomic():
            applications = Application.objects.bulk_create(
                Application(
                    reference=f"AIA-2031-{n:06d}",
                    organisation_id=devices[n % ORGANISATIONS].organisation_id,
                    device=devices[n % ORGANISATIONS],
                    state=ApplicationState.CLEARED,
                    assignee=reviewer,
                    created_by=reviewer,
                )
                for n in range(start, min(start + BATCH, count))
            )
            plans = MonitoringPlan.objects.bulk_create(
                MonitoringPlan(
                    application=application,
                    starts_on=today - timedelta(days=application.pk % PLAN_START_SPREAD_DAYS),
                    ends_on=today + timedelta(days=365),
                    cadence_days=CADENCE_DAYS,
                    set_up_by=reviewer,
                )
                for application in applications
            )
            MonitoringThreshold.objects.bulk_create(
                MonitoringThreshold(plan=plan, metric=Metric.SENSITIVITY, value="0.90")
                for plan in plans
            )


def peak_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def resident_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def timed_sweep(label: str) -> dict:
    from django.core import mail

    from reviews.models import Checkpoint, CheckpointEmail
    from reviews.monitoring.checkpoint_emails import checkpoint_emails_send
    from reviews.monitoring.checkpoints import checkpoints_sweep

    mail.outbox = []
    owed_before = CheckpointEmail.objects.count()
    rss_before = resident_mb()
    started = time.perf_counter()
    result = checkpoints_sweep()
    seconds = time.perf_counter() - started
    sweep_peak = peak_mb()
    # The sweep only owes its emails (an outbox row each); tasks on the `emails` queue send
    # them. Sent here, in this process, and timed apart: the sweep's time is the sweep task's.
    owed = list(CheckpointEmail.objects.filter(sent_at__isnull=True).values_list("pk", flat=True))
    started = time.perf_counter()
    checkpoint_emails_send(email_ids=owed)
    sending = time.perf_counter() - started
    run = {
        "run": label,
        "seconds": round(seconds, 2),
        # The process's peak resident memory so far, and what this run left it holding.
        "peak_rss_mb": sweep_peak,
        "rss_growth_mb": round(resident_mb() - rss_before, 1),
        **vars(result),
        "emails_owed": CheckpointEmail.objects.count() - owed_before,
        "emails": len(mail.outbox),
        "sending_seconds": round(sending, 2),
        "checkpoints_after": Checkpoint.objects.count(),
    }
    print(
        f"{label:18} {seconds:6.2f} s  created {result.created:>7}  "
        f"reminded {result.reminded_7_days + result.reminded_1_day:>6}  "
        f"overdue {result.overdue:>7}  escalated {result.escalated:>7}  "
        f"emails {len(mail.outbox):>5} (sent apart in {sending:.2f} s)  "
        f"peak {run['peak_rss_mb']} MB"
    )
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=100_000)
    args = parser.parse_args()
    url = database_url("_sweep")
    ensure_database(url, fresh=True)
    setup_django(url)
    import time_machine
    from django.core.management import call_command
    from django.utils import timezone

    from devices.models import Application, ApplicationState

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    build(args.applications)
    vacuum_analyze(url)
    in_testing = Application.objects.filter(state=ApplicationState.IN_CONTROLLED_TESTING).count()
    monitored = Application.objects.filter(state=ApplicationState.CLEARED).count()
    print(
        f"built {in_testing} applications in testing and {monitored} under monitoring in "
        f"{time.perf_counter() - started:.1f} s"
    )
    runs = [timed_sweep("catch-up"), timed_sweep("again")]
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        runs += [timed_sweep("next day"), timed_sweep("next day, again")]
    path = write_result(
        "checkpoint_sweep",
        {
            "applications_in_testing": in_testing,
            "applications_under_monitoring": monitored,
            "cadence_days": CADENCE_DAYS,
            "load_average": os.getloadavg(),
            "runs": runs,
        },
    )
    print(f"checkpoint_sweep: written to {path}")


if __name__ == "__main__":
    main()
