"""Per-table autovacuum settings for the tables that churn (PostgreSQL only; elsewhere nothing to do).

The escalation queue is rewritten by every sweep (escalations, widening) and by dispatch, and an agent's
availability row by every status change and every assignment; the default thresholds (20 % of the table
changed) let dead row versions pile up far past what the queue's index-only counts tolerate (a queue
position went from ~10 ms to 350-600 ms after one sweep over 100,000 entries). These settings start a
vacuum after 1 % (queue) or 2 % (availability) of the rows changed and let it run without cost delay.
They take effect only where autovacuum runs (the server's `autovacuum = on`, the default); README,
"Operating the database", says what the deployment must allow. Storage settings, not schema: no model
state changes, and the reverse resets them.
"""

from __future__ import annotations

from django.db import migrations

SETTINGS = {
    "routing_escalationqueueentry": {
        "autovacuum_vacuum_scale_factor": "0.01",
        "autovacuum_vacuum_threshold": "1000",
        "autovacuum_vacuum_insert_scale_factor": "0.01",
        "autovacuum_analyze_scale_factor": "0.02",
        "autovacuum_vacuum_cost_delay": "0",
    },
    "agents_agentavailability": {
        "autovacuum_vacuum_scale_factor": "0.02",
        "autovacuum_vacuum_threshold": "200",
        "autovacuum_analyze_scale_factor": "0.05",
        "autovacuum_vacuum_cost_delay": "0",
    },
}


def set_autovacuum(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    for table, options in SETTINGS.items():
        values = ", ".join(f"{name} = {value}" for name, value in options.items())
        schema_editor.execute(f"ALTER TABLE {quote(table)} SET ({values})")


def reset_autovacuum(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    for table, options in SETTINGS.items():
        schema_editor.execute(f"ALTER TABLE {quote(table)} RESET ({', '.join(options)})")


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0010_automation_fulltext_and_delete_rules"),
        ("routing", "0013_lead_routing_defaults"),
    ]

    operations = [migrations.RunPython(set_autovacuum, reset_autovacuum, elidable=False)]
