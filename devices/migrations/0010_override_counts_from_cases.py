"""Reports from before counts were taken: recover the counts that can be recovered.

The clinician override rate is a proportion of the cases processed, so its counts follow
from the figure and cases_processed when they agree to the 4 decimal places recorded. The
other proportions' denominators (positives, negatives, calls) were never reported: those
figures stay without counts, and the site shows them as reported without a sample size.
"""

from decimal import Decimal

from django.db import migrations

ROUNDING = Decimal("0.00005")


def recover(apps, schema_editor):
    CheckpointReport = apps.get_model("devices", "CheckpointReport")
    reports = CheckpointReport.objects.filter(
        metrics__has_key="override_rate", cases_processed__gt=0
    ).only("pk", "metrics", "counts", "cases_processed")
    for report in reports.iterator(chunk_size=2000):
        try:
            rate = Decimal(str(report.metrics["override_rate"]))
        except ArithmeticError:
            continue
        overridden = int((rate * report.cases_processed).to_integral_value())
        if not 0 <= overridden <= report.cases_processed:
            continue
        if abs(Decimal(overridden) / report.cases_processed - rate) > ROUNDING:
            continue
        report.counts = {**report.counts, "override_rate": [overridden, report.cases_processed]}
        report.save(update_fields=["counts"])


class Migration(migrations.Migration):
    dependencies = [("devices", "0009_checkpoint_counts")]

    operations = [migrations.RunPython(recover, migrations.RunPython.noop)]
