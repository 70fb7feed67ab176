"""Demo data for post-clearance monitoring: a device tested, cleared (proposed and
countersigned), then reporting real-world figures and a serious incident under a monitoring
plan. Told through the real services, once (a second run finds the device and stops)."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from airlock.models import User
from devices.models import (
    AiType,
    Application,
    CareSetting,
    ClinicalArea,
    Device,
    IncidentSeverity,
    MdrClass,
    Significance,
    Situation,
)
from devices.services import application_transition, device_save
from postclearance.models import MonitoringPlan
from postclearance.services import MonitoringTerms, monitoring_plan_set_up
from reviews.decisions import (
    PrincipleRating,
    clearance_countersign,
    decision_record,
    evidence_assess,
)
from reviews.models import Checkpoint, Cohort, DecisionKind, GmlpPrinciple, GmlpRating, Metric
from reviews.monitoring.checkpoints import checkpoints_sweep
from reviews.monitoring.incidents import incident_report_submit
from reviews.monitoring.reports import checkpoint_report_submit
from reviews.plan_terms import ThresholdSpec
from reviews.services import application_assign

DEVICE = "HeartSound AF Screen"
SUBGROUPS = ("age under 65", "age 65+")
# Real-world figures at the monitoring checkpoints reported so far: holding steady.
REPORTS = [((452, 480), (226, 240)), ((461, 490), (230, 245))]


def _report(maker: User, checkpoint: Checkpoint, sensitivity, younger, note: str) -> None:
    """Sensitivity overall and for the younger band, as counts; the older band is the rest."""
    checkpoint_report_submit(
        actor=maker,
        checkpoint_id=checkpoint.pk,
        cases_processed=sensitivity[1] * 4,
        metrics={
            "sensitivity": {"successes": sensitivity[0], "trials": sensitivity[1]},
            "specificity": {"successes": 1700, "trials": 1900},
        },
        subgroup_metrics={
            SUBGROUPS[0]: {"sensitivity": {"successes": younger[0], "trials": younger[1]}},
            SUBGROUPS[1]: {
                "sensitivity": {
                    "successes": sensitivity[0] - younger[0],
                    "trials": sensitivity[1] - younger[1],
                }
            },
        },
        narrative=note,
    )


def seed_monitored_case(*, maker: User, reviewer: User, lead: User, draft, in_testing) -> None:
    """`draft` and `in_testing` are airlock.demo's helpers (passed in to keep imports one way)."""
    organisation = maker.membership.organisation
    if Device.objects.filter(organisation=organisation, name=DEVICE).exists():
        return
    device = device_save(
        actor=maker,
        device=Device(
            name=DEVICE,
            version="1.2",
            intended_purpose="Flags likely atrial fibrillation from a digital stethoscope "
            "recording in GP surgeries, for an ECG.",
            clinical_area=ClinicalArea.CARDIOLOGY,
            care_setting=CareSetting.PRIMARY,
            mdr_class=MdrClass.IIA,
            significance=Significance.DRIVE,
            situation=Situation.SERIOUS,
            ai_type=AiType.LOCKED,
            model_summary="Recurrent network; input 30 s heart sound; output AF likelihood.",
            training_data_summary="41,000 recordings, 60 GP practices, 2019-2024.",
        ),
    )
    today = timezone.localdate()
    cohort = Cohort.objects.order_by("-starts_on").first()
    application: Application = draft(maker, device)
    in_testing(application, maker, reviewer, cohort, today)
    application_assign(application_id=application.pk, actor=lead, reviewer=reviewer)
    checkpoints_sweep()
    for checkpoint in application.checkpoints.order_by("sequence"):
        if checkpoint.due_on <= today:
            _report(maker, checkpoint, (462, 500), (230, 250), "Testing at 12 practices.")

    # Testing ends, the evidence is reviewed, one reviewer proposes clearance and a lead
    # reviewer countersigns it.
    application_transition(
        application_id=application.pk,
        action="complete_testing",
        actor=reviewer,
        reason="Performance stable across both checkpoints; the remaining time adds little.",
        confirmed=True,
    )
    evidence_assess(
        application_id=application.pk,
        actor=reviewer,
        ratings=[
            PrincipleRating(principle, GmlpRating.MET, "Evidenced in the exit interview.")
            for principle in GmlpPrinciple.values
        ],
    )
    decision_record(
        application_id=application.pk,
        actor=reviewer,
        kind=DecisionKind.CLEAR,
        rationale="Thresholds held at every checkpoint; all ten GMLP principles met.",
    )
    clearance_countersign(application_id=application.pk, actor=lead)

    plan = monitoring_plan_set_up(
        actor=lead,
        application_id=application.pk,
        terms=MonitoringTerms(
            starts_on=today,
            ends_on=today + timedelta(days=730),
            cadence_days=28,
            thresholds=[
                ThresholdSpec(Metric.SENSITIVITY, "gte", Decimal("0.90"), Decimal("0.80")),
                ThresholdSpec(Metric.SPECIFICITY, "gte", Decimal("0.85")),
            ],
            min_sample=100,
            required_subgroups="\n".join(SUBGROUPS),
            equity_gap_limit=Decimal("0.08"),
            notes="Real-world use at 60 practices after clearance; quarterly review.",
        ),
    )
    # The demo's short cut: the plan is dated as if set up 80 days ago, so the demo shows
    # reports already made under it and one falling due in a few days for the demo login.
    MonitoringPlan.objects.filter(pk=plan.pk).update(starts_on=today - timedelta(days=80))
    checkpoints_sweep()
    for checkpoint, (overall, younger) in zip(
        plan.checkpoints.order_by("sequence"), REPORTS, strict=False
    ):
        _report(maker, checkpoint, overall, younger, "Real-world use at 60 GP practices.")
    # Vigilance goes on after clearance: a serious incident reported under the plan, on time,
    # raising a high safety signal for the reviewers to investigate.
    incident_report_submit(
        actor=maker,
        application_id=application.pk,
        severity=IncidentSeverity.OTHER_SERIOUS,
        occurred_on=today - timedelta(days=4),
        aware_on=today - timedelta(days=3),
        description="A patient with AF flagged as low likelihood at one practice; found on a "
        "routine ECG two weeks later.",
        actions_taken="The practice reviewed every low-likelihood result from that week.",
    )
