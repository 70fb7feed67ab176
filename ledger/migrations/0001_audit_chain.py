import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="ChainHead",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("seq", models.PositiveBigIntegerField(default=0)),
                ("hash", models.CharField(default="0" * 64, max_length=64)),
            ],
        ),
        migrations.CreateModel(
            name="ChainLink",
            fields=[
                ("seq", models.PositiveBigIntegerField(primary_key=True, serialize=False)),
                (
                    "source",
                    models.CharField(
                        help_text="The audit table, as app_label.model.", max_length=60
                    ),
                ),
                ("object_id", models.PositiveBigIntegerField()),
                ("content_hash", models.CharField(max_length=64)),
                ("prev_hash", models.CharField(max_length=64)),
                ("hash", models.CharField(max_length=64)),
                ("recorded_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "ordering": ["seq"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("source", "object_id"), name="chainlink_once_per_row"
                    )
                ],
            },
        ),
    ]
