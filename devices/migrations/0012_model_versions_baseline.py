"""Every device gets its first model version — the version it was registered with — and the
checkpoint and incident reports made before versions were recorded are about that version."""

from django.db import migrations


def baseline(apps, schema_editor):
    Device = apps.get_model("devices", "Device")
    ModelVersion = apps.get_model("devices", "ModelVersion")
    CheckpointReport = apps.get_model("devices", "CheckpointReport")
    IncidentReport = apps.get_model("devices", "IncidentReport")
    for device in Device.objects.filter(model_versions__isnull=True).iterator(chunk_size=2000):
        version = ModelVersion.objects.create(
            device=device,
            label=device.version,
            released_on=device.created_at.date(),
            changes="The version the device was registered with.",
            training_data_summary=device.training_data_summary,
        )
        CheckpointReport.objects.filter(
            checkpoint__application__device=device, model_version__isnull=True
        ).update(model_version=version)
        IncidentReport.objects.filter(
            application__device=device, model_version__isnull=True
        ).update(model_version=version)


class Migration(migrations.Migration):
    dependencies = [("devices", "0011_model_versions_change_control")]

    operations = [migrations.RunPython(baseline, migrations.RunPython.noop)]
