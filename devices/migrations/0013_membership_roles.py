"""Roles in an organisation replace the owner flag. Every existing member becomes an
administrator: until now every member could do everything an administrator now can."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0012_model_versions_baseline"),
    ]

    operations = [
        # The default fills existing rows; the next operation sets the default for new ones.
        migrations.AddField(
            model_name="membership",
            name="role",
            field=models.CharField(
                choices=[
                    ("administrator", "Administrator"),
                    ("contributor", "Contributor"),
                    ("viewer", "Viewer"),
                ],
                default="administrator",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="membership",
            name="role",
            field=models.CharField(
                choices=[
                    ("administrator", "Administrator"),
                    ("contributor", "Contributor"),
                    ("viewer", "Viewer"),
                ],
                default="contributor",
                help_text="Administrators manage the team and API keys; contributors edit and "
                "submit; viewers only read.",
                max_length=20,
            ),
        ),
        migrations.RemoveField(model_name="membership", name="is_owner"),
    ]
