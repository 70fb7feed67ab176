"""Demo data for the evidence side: an adaptive device under its change protocol, figures
with their counts, a subgroup gap, and a slide the drift detector catches early. Told through
the real services, once (a second run finds the device and stops)."""

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
    MdrClass,
    Significance,
    Situation,
)
from devices.services import device_save
from reviews.model_changes import ChangeDetails, model_change_notify
from reviews.models import ChangeKind, Checkpoint, Cohort, JudgedOn, MetricThreshold
from reviews.monitoring.reports import checkpoint_report_submit
from reviews.services import application_assign

DEVICE = "DermaWatch Adaptive"
SUBGROUPS = "Fitzpatrick I-III\nFitzpatrick IV-VI"
# Sensitivity sliding two points a checkpoint: drift detection warns at the third, while
# every figure still meets the 0.90 threshold; at the second, darker skin lags far behind.
CHECKPOINTS = [
    ((950, 1000), {"Fitzpatrick I-III": (480, 500), "Fitzpatrick IV-VI": (470, 500)}),
    ((930, 1000), {"Fitzpatrick I-III": (490, 500), "Fitzpatrick IV-VI": (440, 500)}),
    ((910, 1000), {"Fitzpatrick I-III": (460, 500), "Fitzpatrick IV-VI": (450, 500)}),
]


def seed_adaptive_case(*, maker: User, reviewer: User, lead: User, draft, in_testing) -> None:
    """`draft` and `in_testing` are airlock.demo's helpers (passed in to keep imports one way)."""
    organisation = maker.membership.organisation
    if Device.objects.filter(organisation=organisation, name=DEVICE).exists():
        return
    device = device_save(
        actor=maker,
        device=Device(
            name=DEVICE,
            version="1.0",
            intended_purpose="Triages photographs of skin lesions for urgent dermatology review.",
            clinical_area=ClinicalArea.OTHER,
            care_setting=CareSetting.PRIMARY,
            mdr_class=MdrClass.IIA,
            significance=Significance.DRIVE,
            situation=Situation.SERIOUS,
            ai_type=AiType.ADAPTIVE,
            pccp_summary="Quarterly retraining on new images from the same sites; threshold "
            "recalibration; each change validated on 500 held-out cases per skin-type band.",
            model_summary="Vision transformer; input dermoscopic photograph; output urgency.",
            training_data_summary="84,000 images, four NHS trusts, 2018-2024, Fitzpatrick I-VI.",
        ),
    )
    today = timezone.localdate()
    cohort = Cohort.objects.order_by("-starts_on").first()
    application: Application = draft(maker, device)
    in_testing(application, maker, reviewer, cohort, today)
    application_assign(application_id=application.pk, actor=lead, reviewer=reviewer)
    # The plan as agreed, with this terms set on the plan in force (the demo's short
    # cut: the plan-amendment journey is shown on the LungScan case).
    plan = application.testing_plan
    plan.min_sample = 100
    plan.required_subgroups = SUBGROUPS
    plan.equity_gap_limit = Decimal("0.05")
    plan.allowed_change_kinds = [ChangeKind.RETRAINING, ChangeKind.RECALIBRATION]
    plan.change_evidence = "Validation report on 500 held-out cases per skin-type band"
    plan.save()
    MetricThreshold.objects.filter(plan=plan, metric="sensitivity").update(
        judged_on=JudgedOn.INTERVAL, value=Decimal("0.88")
    )
    for sequence, (overall, subgroups) in enumerate(CHECKPOINTS, start=1):
        checkpoint, _ = Checkpoint.objects.get_or_create(
            application=application,
            sequence=sequence,
            defaults={"due_on": plan.starts_on + timedelta(days=plan.cadence_days * sequence)},
        )
        if sequence == 3:
            model_change_notify(
                actor=maker,
                application_id=application.pk,
                details=ChangeDetails(
                    kind=ChangeKind.RETRAINING,
                    version_label="1.1",
                    released_on=today - timedelta(days=10),
                    description="Retrained with 6,000 new images from the same four trusts.",
                    sha256="9f2c" * 16,
                    validation_metrics={
                        "sensitivity": {"successes": 960, "trials": 1000},
                        "specificity": {"successes": 2700, "trials": 3000},
                    },
                    evidence={plan.change_evidence: "Evidence document VR-1.1"},
                ),
            )
        checkpoint_report_submit(
            actor=maker,
            checkpoint_id=checkpoint.pk,
            cases_processed=4000,
            metrics={
                "sensitivity": {"successes": overall[0], "trials": overall[1]},
                "specificity": {"successes": 2700, "trials": 3000},
            },
            subgroup_metrics={
                name: {"sensitivity": {"successes": s, "trials": n}}
                for name, (s, n) in subgroups.items()
            },
            narrative="Figures from both sites; counts from the audit extract.",
        )
    # A change outside the protocol: a new architecture is not pre-agreed. Held for the
    # reviewer's decision.
    model_change_notify(
        actor=maker,
        application_id=application.pk,
        details=ChangeDetails(
            kind=ChangeKind.ARCHITECTURE,
            version_label="2.0",
            released_on=today,
            description="Moved to a larger backbone trained on the same data.",
            validation_metrics={
                "sensitivity": {"successes": 470, "trials": 500},
                "specificity": {"successes": 450, "trials": 500},
            },
            evidence={plan.change_evidence: "Evidence document VR-2.0"},
        ),
    )
