"""The review queue's other two sorts, each in the exact order the page asks for (nulls last),
so a page of them is an index walk too. SQLite cannot put NULLS LAST in an index, so these
exist on PostgreSQL only, outside the models' state (makemigrations does not see them)."""

from django.db import migrations

INDEXES = {
    "app_queue_clock_desc_idx": '("clock_due_on" DESC NULLS LAST, "id")',
    "app_queue_submitted_idx": '("submitted_at" DESC NULLS LAST, "id" DESC)',
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, columns in INDEXES.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "devices_application" {columns}')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("devices", "0003_queue_indexes")]

    operations = [migrations.RunPython(create, drop)]
