"""Give every existing testing plan its version 1.

A plan agreed before plans were agreed by both sides becomes an agreed version 1, recorded as
agreed by the reviewer who agreed it (the manufacturer's agreement was not asked for then, so
no one is named for it). A plan never agreed becomes a draft version 1, and no longer counts as
a plan in force.
"""

from django.db import migrations

FIELDS = (
    "environment",
    "starts_on",
    "ends_on",
    "cadence_days",
    "nhs_sites",
    "suspend_on_critical_breach",
    "notes",
)


def versions_from_plans(apps, schema_editor):
    TestingPlan = apps.get_model("reviews", "TestingPlan")
    PlanVersion = apps.get_model("reviews", "PlanVersion")
    PlanVersionThreshold = apps.get_model("reviews", "PlanVersionThreshold")
    MetricThreshold = apps.get_model("reviews", "MetricThreshold")
    for plan in TestingPlan.objects.all().iterator():
        if PlanVersion.objects.filter(application_id=plan.application_id).exists():
            continue
        agreed = plan.agreed_at is not None
        version = PlanVersion.objects.create(
            application_id=plan.application_id,
            number=1,
            drafted_by_id=plan.drafted_by_id,
            reviewer_agreed_by_id=plan.agreed_by_id if agreed else None,
            reviewer_agreed_at=plan.agreed_at,
            manufacturer_agreed_at=plan.agreed_at,
            **{name: getattr(plan, name) for name in FIELDS},
        )
        thresholds = MetricThreshold.objects.filter(plan=plan)
        PlanVersionThreshold.objects.bulk_create(
            PlanVersionThreshold(
                version=version,
                metric=t.metric,
                comparator=t.comparator,
                value=t.value,
                critical_value=t.critical_value,
            )
            for t in thresholds
        )
        if not agreed:
            thresholds.delete()
            plan.delete()


class Migration(migrations.Migration):
    dependencies = [("reviews", "0004_plan_versions_audit_signal_resolution")]

    operations = [migrations.RunPython(versions_from_plans, migrations.RunPython.noop)]
