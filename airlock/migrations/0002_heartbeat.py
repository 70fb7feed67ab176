from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("airlock", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Heartbeat",
            fields=[
                ("name", models.CharField(max_length=50, primary_key=True, serialize=False)),
                ("at", models.DateTimeField()),
            ],
        ),
    ]
