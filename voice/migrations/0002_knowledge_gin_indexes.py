"""PostgreSQL-only indexes of the knowledge lookup: GIN over the stored search vector and over the tags.

SQLite has no GIN indexes (and Django's GinIndex would emit `USING gin` there), so these are created
by SQL that runs only on PostgreSQL; on SQLite this migration does nothing, and the lookup's fallback
works from the (organization, category, priority) index of 0001. `jsonb_ops` (the default operator
class) is the one that answers `?|` (any of these tags), which the lookup uses; `jsonb_path_ops` would
only answer containment. Reversible: the indexes are dropped.
"""

from django.db import migrations


class RunSQLOnPostgres(migrations.RunSQL):
    """RunSQL that runs only on PostgreSQL, in both directions."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("voice", "0001_initial")]

    operations = [
        RunSQLOnPostgres(
            sql="CREATE INDEX voice_knowledge_search_gin ON voice_knowledgeentry USING gin (search_vector)",
            reverse_sql="DROP INDEX IF EXISTS voice_knowledge_search_gin",
        ),
        RunSQLOnPostgres(
            sql="CREATE INDEX voice_knowledge_tags_gin ON voice_knowledgeentry USING gin (tags jsonb_ops)",
            reverse_sql="DROP INDEX IF EXISTS voice_knowledge_tags_gin",
        ),
    ]
