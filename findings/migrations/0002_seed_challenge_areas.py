"""The regulatory challenges the AI Airlock has looked into, so findings can be tagged from the
start; administrators add to the list (or retire an area) in the admin."""

from django.db import migrations

AREAS = [
    ("Synthetic data validation", "Pilot"),
    ("Explainability", "Pilot"),
    ("Hallucination", "Pilot"),
    ("Continuous post-market surveillance", "Pilot"),
    ("Generative AI drifting from its intended purpose", "Phase 2"),
    ("The PCCP and post-market surveillance lifecycle", "Phase 2"),
    ("Performance evaluation of AI diagnostic tests", "Phase 2"),
]


def seed(apps, schema_editor):
    ChallengeArea = apps.get_model("findings", "ChallengeArea")
    for name, phase in AREAS:
        ChallengeArea.objects.get_or_create(name=name, defaults={"phase": phase})


class Migration(migrations.Migration):
    dependencies = [("findings", "0001_gap_register")]

    # Reversing leaves the areas: findings may already point at them.
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
