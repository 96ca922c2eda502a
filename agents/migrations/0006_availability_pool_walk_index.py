"""availability_status_load_idx gains last_assigned_at, never-assigned agents first, for the routing pool
walk (least loaded, then longest idle).

The state holds the index as the model declares it (last_assigned_at ASC NULLS FIRST). SQLite cannot
say NULLS FIRST in CREATE INDEX, but its ascending order already puts NULLs first, so there the same
index is created without the clause; PostgreSQL gets the clause as written.
"""

from django.db import migrations, models

TABLE = "agents_agentavailability"
NAME = "availability_status_load_idx"


def create_index(apps, schema_editor):
    nulls_first = " NULLS FIRST" if schema_editor.connection.vendor != "sqlite" else ""
    quote = schema_editor.quote_name
    schema_editor.execute(f"DROP INDEX IF EXISTS {quote(NAME)}")
    schema_editor.execute(
        f"CREATE INDEX {quote(NAME)} ON {quote(TABLE)} "
        f"({quote('status')}, {quote('current_load')}, {quote('last_assigned_at')} ASC{nulls_first})"
    )


def restore_index(apps, schema_editor):
    quote = schema_editor.quote_name
    schema_editor.execute(f"DROP INDEX IF EXISTS {quote(NAME)}")
    schema_editor.execute(f"CREATE INDEX {quote(NAME)} ON {quote(TABLE)} ({quote('status')}, {quote('current_load')})")


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0005_audit_constraints_and_history"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="agentavailability", name=NAME),
                migrations.AddIndex(
                    model_name="agentavailability",
                    index=models.Index(
                        models.F("status"),
                        models.F("current_load"),
                        models.OrderBy(models.F("last_assigned_at"), nulls_first=True),
                        name=NAME,
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(create_index, restore_index)],
        ),
    ]
