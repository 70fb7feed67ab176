"""Demo data for `make run`: the same logins every time, safe to load again and again."""

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from airlock.demo_evidence import seed_adaptive_case
from airlock.demo_monitoring import seed_monitored_case
from airlock.models import User
from airlock.roles import Role, group_for, sync_role_groups
from calls.models import Call, SelectionCriterion
from devices.models import (
    REQUIRED_EVIDENCE,
    AiType,
    Application,
    ApplicationState,
    CareSetting,
    ClinicalArea,
    ClockStage,
    Device,
    EvidenceKind,
    Maturity,
    MdrClass,
    Membership,
    Organisation,
    OrganisationRole,
    SandboxEnvironment,
    Significance,
    Situation,
)
from devices.services import (
    application_create,
    application_transition,
    device_save,
    evidence_upload,
    message_post,
)
from devices.state_counts import state_counts_repair
from devices.uploads import inspect_upload
from reviews.models import (
    Cohort,
    Comparator,
    EligibilityCriterion,
    Metric,
    MetricThreshold,
    ScreeningOutcome,
    TestingPlan,
)
from reviews.monitoring.checkpoints import checkpoints_sweep
from reviews.monitoring.reports import checkpoint_report_submit
from reviews.plan_terms import PlanDetails, ThresholdSpec
from reviews.plans import plan_version_agree, plan_version_save, plan_version_send
from reviews.services import (
    CriterionOutcome,
    application_accept,
    application_assign,
    information_request_create,
    screening_assess,
)

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
            # The demo organisations are approved, as if a reviewer had checked them.
            organisation, _ = Organisation.objects.get_or_create(
                name=demo.organisation, defaults={"approved_at": timezone.now()}
            )
            Membership.objects.update_or_create(
                user=user,
                defaults={"organisation": organisation, "role": OrganisationRole.ADMINISTRATOR},
            )
    seed_demo_cases()
    seed_adaptive_case(
        maker=User.objects.get(email=DEMO_USERS[0].email),
        reviewer=User.objects.get(email=DEMO_USERS[2].email),
        lead=User.objects.get(email=DEMO_USERS[3].email),
        draft=_draft,
        in_testing=_in_testing,
    )
    seed_monitored_case(
        maker=User.objects.get(email=DEMO_USERS[0].email),
        reviewer=User.objects.get(email=DEMO_USERS[2].email),
        lead=User.objects.get(email=DEMO_USERS[3].email),
        draft=_draft,
        in_testing=_in_testing,
    )
    return list(DEMO_USERS)


# --- Demo cases, told through the real services -------------------------------------------------


def _pdf(text: str) -> SimpleUploadedFile:
    body = f"%PDF-1.4\n% {text}\n%%EOF\n".encode()
    return SimpleUploadedFile(f"{text.lower().replace(' ', '-')}.pdf", body, "application/pdf")


def _device(organisation, owner, **fields) -> Device:
    device = Device(**fields)
    existing = Device.objects.filter(
        organisation=organisation, name=fields["name"], version=fields["version"]
    ).first()
    return existing or device_save(actor=owner, device=device)


def demo_call(cohort: Cohort) -> Call:
    """The demo's call for applications: open from four months ago for a year, filling the
    demo cohort, with weighted selection criteria."""
    now = timezone.now()
    call, created = Call.objects.get_or_create(
        title="AI Airlock phase 3",
        defaults={
            "challenge_areas": "Monitoring performance drift after deployment\n"
            "Large language models in clinical documentation\n"
            "Equity of performance across patient groups",
            "opens_at": now - timedelta(days=120),
            "closes_at": now + timedelta(days=245),
            "capacity": 7,
            "cohort": cohort,
        },
    )
    if created:
        call.eligibility_criteria.set(EligibilityCriterion.objects.filter(is_active=True))
        for order, (title, weight) in enumerate(
            [
                ("Novel regulatory question", 3),
                ("Patient and NHS benefit", 3),
                ("Readiness for testing", 2),
                ("Fit with the challenge areas", 2),
            ]
        ):
            SelectionCriterion.objects.create(call=call, title=title, weight=weight, order=order)
    return call


def _draft(owner, device, **fields) -> Application:
    application = application_create(
        actor=owner,
        device=device,
        call=Call.objects.get(title="AI Airlock phase 3"),
        regulatory_challenge=fields.get(
            "challenge", "How should real-world performance be monitored once deployed?"
        ),
        sandbox_environment=fields.get("environment", SandboxEnvironment.VIRTUAL),
        patient_benefit=fields.get("benefit", "Earlier diagnosis and fewer avoidable admissions."),
        maturity=fields.get("maturity", Maturity.RETROSPECTIVE),
        nhs_sites=fields.get("sites", "Leeds Teaching Hospitals NHS Trust"),
    )
    for kind in REQUIRED_EVIDENCE:
        evidence_upload(
            application=application,
            actor=owner,
            kind=kind,
            upload=inspect_upload(_pdf(EvidenceKind(kind).label)),
        )
    return application


def _screened(application, owner, reviewer) -> None:
    application_transition(application_id=application.pk, action="submit", actor=owner)
    application_transition(application_id=application.pk, action="start_screening", actor=reviewer)
    screening_assess(
        application_id=application.pk,
        actor=reviewer,
        outcomes=[
            CriterionOutcome(criterion.pk, ScreeningOutcome.MET, "Clearly evidenced.")
            for criterion in EligibilityCriterion.objects.filter(is_active=True)
        ],
    )


def _in_testing(application, owner, reviewer, cohort, today) -> None:
    _screened(application, owner, reviewer)
    application_accept(
        application_id=application.pk,
        actor=reviewer,
        cohort=cohort,
        rationale="Meets every criterion; a clear regulatory question about drift monitoring.",
    )
    version = plan_version_save(
        application_id=application.pk,
        actor=reviewer,
        details=PlanDetails(
            environment=SandboxEnvironment.VIRTUAL,
            starts_on=today - timedelta(days=70),
            ends_on=today + timedelta(days=110),
            cadence_days=28,
            nhs_sites="Leeds Teaching Hospitals NHS Trust\nBradford GP Federation",
            thresholds=[
                ThresholdSpec(
                    Metric.SENSITIVITY, Comparator.AT_LEAST, Decimal("0.90"), Decimal("0.80")
                ),
                ThresholdSpec(Metric.SPECIFICITY, Comparator.AT_LEAST, Decimal("0.85")),
            ],
        ),
    )
    plan_version_send(application_id=application.pk, actor=reviewer)
    plan_version_agree(
        application_id=application.pk,
        actor=owner,
        number=version.number,
        revision=version.revision,
    )
    application_transition(application_id=application.pk, action="begin_testing", actor=reviewer)


def seed_demo_cases() -> None:
    """A handful of cases in different stages for the demo organisations, made once."""
    maker = User.objects.get(email=DEMO_USERS[0].email)
    other = User.objects.get(email=DEMO_USERS[1].email)
    reviewer = User.objects.get(email=DEMO_USERS[2].email)
    lead = User.objects.get(email=DEMO_USERS[3].email)
    if Application.objects.filter(organisation=maker.membership.organisation).exists():
        return
    today = timezone.localdate()
    cohort, _ = Cohort.objects.get_or_create(
        name=f"Phase 3 ({today.year}-{(today.year + 1) % 100:02d})",
        defaults={"starts_on": today - timedelta(days=120), "ends_on": today + timedelta(days=300)},
    )
    demo_call(cohort)
    common = {
        "care_setting": CareSetting.PRIMARY,
        "ai_type": AiType.LOCKED,
        "model_summary": "Convolutional network; input chest X-ray; output a likelihood score.",
        "training_data_summary": "120,000 studies, six NHS trusts, 2015-2022; test set held apart.",
    }
    lungs = _device(
        maker.membership.organisation,
        maker,
        name="LungScan COPD Detector",
        version="2.1",
        intended_purpose="Flags chest X-rays suggestive of COPD for GP follow-up.",
        clinical_area=ClinicalArea.RESPIRATORY,
        mdr_class=MdrClass.IIA,
        significance=Significance.DRIVE,
        situation=Situation.SERIOUS,
        **common,
    )
    onco = _device(
        maker.membership.organisation,
        maker,
        name="OncoPlan Personaliser",
        version="1.0",
        intended_purpose="Suggests personalised follow-up plans after cancer treatment.",
        clinical_area=ClinicalArea.ONCOLOGY,
        mdr_class=MdrClass.IIB,
        significance=Significance.INFORM,
        situation=Situation.CRITICAL,
        **{**common, "care_setting": CareSetting.SECONDARY},
    )
    eyes = _device(
        other.membership.organisation,
        other,
        name="RetinaView",
        version="3.4",
        intended_purpose="Grades diabetic retinopathy from retinal photographs.",
        clinical_area=ClinicalArea.OPHTHALMOLOGY,
        mdr_class=MdrClass.IIA,
        significance=Significance.TREAT_DIAGNOSE,
        situation=Situation.SERIOUS,
        **common,
    )

    testing = _draft(maker, lungs, environment=SandboxEnvironment.REAL_WORLD)
    _in_testing(testing, maker, reviewer, cohort, today)
    application_assign(application_id=testing.pk, actor=lead, reviewer=reviewer)
    checkpoints_sweep()
    first = testing.checkpoints.order_by("sequence").first()
    checkpoint_report_submit(
        actor=maker,
        checkpoint_id=first.pk,
        cases_processed=1240,
        metrics={"sensitivity": 0.93, "specificity": 0.88},
        narrative="Stable performance across both sites; no incidents.",
    )

    # The regulator asks about a site, and proposes a longer plan: both wait for the maker.
    message_post(
        application=testing,
        author=reviewer,
        body="Could you confirm the scanner settings at Bradford before the next checkpoint?",
    )
    plan = testing.testing_plan
    plan_version_save(
        application_id=testing.pk,
        actor=reviewer,
        details=PlanDetails(
            environment=plan.environment,
            starts_on=plan.starts_on,
            ends_on=plan.ends_on + timedelta(days=28),
            cadence_days=plan.cadence_days,
            nhs_sites=plan.nhs_sites,
            thresholds=[
                ThresholdSpec(t.metric, t.comparator, t.value, t.critical_value)
                for t in plan.thresholds.all()
            ],
        ),
    )
    plan_version_send(application_id=testing.pk, actor=reviewer)

    questioned = _draft(maker, onco, maturity=Maturity.PROTOTYPE)
    _screened(questioned, maker, reviewer)
    application_assign(application_id=questioned.pk, actor=lead, reviewer=reviewer)
    information_request_create(
        application_id=questioned.pk,
        actor=reviewer,
        questions="Which NHS sites have agreed to take part? Who is your clinical safety officer?",
        due_on=today + timedelta(days=14),
    )

    _draft(maker, onco, challenge="Can a PCCP cover retraining on new trusts' data?")

    submitted = _draft(other, eyes)
    application_transition(application_id=submitted.pk, action="submit", actor=other)


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
    # Written in bulk, past the transition service: the queue's counts are recomputed once.
    state_counts_repair()
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
