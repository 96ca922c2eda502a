"""Seed 003's PostgreSQL-only schema for the automated agents' tables: the two full-text GIN indexes and
the foreign keys' ON DELETE rules in the database itself. Schema only (DDL), no data.

- idx_tasks_search and idx_workflows_search: GIN on to_tsvector('english', title/name || ' ' ||
  COALESCE(description, '')), exactly the seed's expressions. agents.automation.selectors searches with
  the same expression so the planner uses them (tests/agents/automation/test_search.py reads the plan).
  SQLite has no to_tsvector; there the search falls back to word matching without an index.
- ON DELETE: Django emulates on_delete in Python and creates its foreign keys without a database rule,
  so a DELETE run outside Django (psql, a maintenance script) would fail instead of doing what the seed
  says. On PostgreSQL the constraints are recreated with the seed's rules (SET NULL for a task's agent,
  CASCADE for the rest, DEFERRABLE INITIALLY DEFERRED as Django makes them); Django's own deletes do the
  same work first, so nothing changes for them. SQLite would need each table rebuilt; it keeps Django's
  emulation.

Neither is in the migration state (Django cannot express a GIN index that SQLite must skip, nor an ON
DELETE rule), so the state is unchanged and `makemigrations` stays clean. Reversed exactly: indexes
dropped, constraints back to NO ACTION.
"""

from django.db import migrations

SEARCH_INDEXES = {
    "idx_tasks_search": ("agents_agenttask", "title"),
    "idx_workflows_search": ("agents_workflow", "name"),
}

# (table, column, referenced table, rule)
DELETE_RULES = [
    ("agents_agenttask", "assigned_agent_id", "agents_automatedagent", "SET NULL"),
    ("agents_agenttask", "workflow_id", "agents_workflow", "CASCADE"),
    ("agents_agenttask", "execution_id", "agents_workflowexecution", "CASCADE"),
    ("agents_workflowexecution", "workflow_id", "agents_workflow", "CASCADE"),
    ("agents_agentcapability", "agent_id", "agents_automatedagent", "CASCADE"),
    ("agents_agentperformancesample", "agent_id", "agents_automatedagent", "CASCADE"),
    ("agents_agentmessage", "sender_id", "agents_automatedagent", "CASCADE"),
    ("agents_agentmessage", "recipient_id", "agents_automatedagent", "CASCADE"),
]


def _foreign_key_name(schema_editor, table: str, column: str) -> str:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT con.conname FROM pg_constraint con
            JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = ANY (con.conkey)
            WHERE con.contype = 'f' AND con.conrelid = %s::regclass AND att.attname = %s
            """,
            [table, column],
        )
        (name,) = cursor.fetchone()
    return name


def _set_delete_rules(schema_editor, *, reverse: bool) -> None:
    quote = schema_editor.quote_name
    for table, column, referenced, rule in DELETE_RULES:
        name = _foreign_key_name(schema_editor, table, column)
        on_delete = "NO ACTION" if reverse else rule
        schema_editor.execute(
            f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}, "
            f"ADD CONSTRAINT {quote(name)} FOREIGN KEY ({quote(column)}) REFERENCES {quote(referenced)} (id) "
            f"ON DELETE {on_delete} DEFERRABLE INITIALLY DEFERRED"
        )


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    for name, (table, title) in SEARCH_INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(table)} USING gin "
            f"(to_tsvector('english', {quote(title)} || ' ' || COALESCE({quote('description')}, '')))"
        )
    _set_delete_rules(schema_editor, reverse=False)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    for name in SEARCH_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(name)}")
    _set_delete_rules(schema_editor, reverse=True)


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0009_automated_agents_tasks_workflows"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
