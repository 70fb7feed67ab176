"""Demo data for `make run`: the same logins every time, safe to load again and again."""

import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from airlock.models import User
from airlock.roles import Role, group_for, sync_role_groups
from devices.models import (
    AiType,
    Application,
    ApplicationState,
    CareSetting,
    ClinicalArea,
    ClockStage,
    Device,
    Maturity,
    MdrClass,
    Membership,
    Organisation,
    SandboxEnvironment,
    Significance,
    Situation,
)
from reviews.models import Metric, MetricThreshold, TestingPlan

DEMO_PASSWORD = "airlock-demo"


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    role: Role
    organisation: str = ""


DEMO_USERS = (
    DemoUser("maker@demo.airlock", "Maya Patel", Role.MANUFACTURER, "Demo Diagnostics Ltd"),
    DemoUser("other@demo.airlock", "Oliver Grant", Role.MANUFACTURER, "Northern Imaging AI Ltd"),
    DemoUser("reviewer@demo.airlock", "Rachel Evans", Role.REVIEWER),
    DemoUser("lead@demo.airlock", "Leo Okafor", Role.LEAD_REVIEWER),
    DemoUser("admin@demo.airlock", "Ada Hughes", Role.ADMINISTRATOR),
)


@transaction.atomic
def seed_demo() -> list[DemoUser]:
    sync_role_groups()
    for demo in DEMO_USERS:
        user, _ = User.objects.get_or_create(
            email=demo.email, defaults={"full_name": demo.full_name}
        )
        user.full_name = demo.full_name
        user.is_superuser = user.is_staff = demo.role == Role.ADMINISTRATOR
        user.set_password(DEMO_PASSWORD)
        user.save()
        if demo.role != Role.ADMINISTRATOR:
            user.groups.set([group_for(demo.role)])
        if demo.organisation:
            organisation, _ = Organisation.objects.get_or_create(name=demo.organisation)
            Membership.objects.update_or_create(
                user=user, defaults={"organisation": organisation, "is_owner": True}
            )
    return list(DEMO_USERS)


# --- Scale data for benchmarks ----------------------------------------------------------------

SCALE_ORG_PREFIX = "Scale Test Manufacturer"
SCALE_YEAR = 2025
# Roughly how a busy programme's cases spread across the states.
SCALE_STATE_WEIGHTS = [
    (ApplicationState.DRAFT, 10),
    (ApplicationState.SUBMITTED, 10),
    (ApplicationState.SCREENING, 10),
    (ApplicationState.INFORMATION_REQUESTED, 5),
    (ApplicationState.ACCEPTED, 5),
    (ApplicationState.IN_CONTROLLED_TESTING, 30),
    (ApplicationState.SUSPENDED, 2),
    (ApplicationState.EVIDENCE_REVIEW, 8),
    (ApplicationState.CLEARED, 8),
    (ApplicationState.NOT_CLEARED, 4),
    (ApplicationState.REJECTED, 5),
    (ApplicationState.WITHDRAWN, 3),
]


def seed_scale(applications: int, *, batch_size: int = 5000) -> int:
    """Make sure at least `applications` scale-test applications exist; return how many were
    added. Set-based (bulk_create in batches), deterministic, and safe to run again."""
    existing = Application.objects.filter(organisation__name__startswith=SCALE_ORG_PREFIX).count()
    missing = applications - existing
    if missing <= 0:
        return 0
    rng = random.Random(existing)
    owner = User.objects.get(email=DEMO_USERS[0].email)
    reviewer = User.objects.get(email=DEMO_USERS[2].email)
    organisations = [
        Organisation.objects.get_or_create(name=f"{SCALE_ORG_PREFIX} {i:03d}")[0]
        for i in range(1, 201)
    ]
    devices = []
    for organisation in organisations:
        for n in range(1, 4):
            significance = rng.choice(list(Significance))
            situation = rng.choice(list(Situation))
            device, _ = Device.objects.get_or_create(
                organisation=organisation,
                name=f"Model {n}",
                version="1.0",
                defaults={
                    "intended_purpose": "Synthetic device for load testing.",
                    "clinical_area": rng.choice(list(ClinicalArea)),
                    "care_setting": rng.choice(list(CareSetting)),
                    "mdr_class": rng.choice(list(MdrClass)),
                    "significance": significance,
                    "situation": situation,
                    "ai_type": AiType.LOCKED,
                    "model_summary": "Synthetic.",
                    "training_data_summary": "Synthetic.",
                    "created_by": owner,
                },
            )
            devices.append(device)
    states = [state for state, _ in SCALE_STATE_WEIGHTS]
    weights = [weight for _, weight in SCALE_STATE_WEIGHTS]
    today = timezone.localdate()
    now = timezone.now()
    added = 0
    while added < missing:
        rows = []
        for _ in range(min(batch_size, missing - added)):
            number = existing + added + len(rows) + 1
            device = rng.choice(devices)
            state = rng.choices(states, weights)[0]
            clock = state in {ApplicationState.SUBMITTED, ApplicationState.SCREENING}
            rows.append(
                Application(
                    reference=f"AIA-{SCALE_YEAR}-{number:06d}",
                    organisation_id=device.organisation_id,
                    device=device,
                    state=state,
                    regulatory_challenge="Synthetic regulatory question.",
                    sandbox_environment=rng.choice(list(SandboxEnvironment)),
                    patient_benefit="Synthetic benefit.",
                    maturity=rng.choice(list(Maturity)),
                    clock_stage=ClockStage.SCREENING if clock else "",
                    clock_due_on=today + timedelta(days=rng.randint(-10, 40)) if clock else None,
                    created_by=owner,
                    submitted_at=None if state == ApplicationState.DRAFT else now,
                )
            )
        with transaction.atomic():
            created = Application.objects.bulk_create(rows)
            _bulk_testing_plans(
                [a for a in created if a.state == ApplicationState.IN_CONTROLLED_TESTING],
                reviewer=reviewer,
                today=today,
                rng=rng,
            )
        added += len(rows)
    return added


def _bulk_testing_plans(applications, *, reviewer, today, rng) -> None:
    plans = TestingPlan.objects.bulk_create(
        TestingPlan(
            application=application,
            environment=SandboxEnvironment.VIRTUAL,
            starts_on=today - timedelta(days=rng.randint(0, 120)),
            ends_on=today + timedelta(days=rng.randint(30, 240)),
            cadence_days=rng.choice([14, 28]),
            drafted_by=reviewer,
            agreed_by=reviewer,
            agreed_at=timezone.now(),
        )
        for application in applications
    )
    MetricThreshold.objects.bulk_create(
        MetricThreshold(
            plan=plan, metric=Metric.SENSITIVITY, value="0.9000", critical_value="0.8000"
        )
        for plan in plans
    )
