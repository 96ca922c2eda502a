"""Exactly one control variant per experiment that has variants, on PostgreSQL (schema only).

RoutingExperimentVariant's partial unique index one_control_variant (0011) allows at most one control on
both databases. "At least one" spans rows, which a CHECK cannot see, so on PostgreSQL a deferred
constraint trigger checks, at commit, every experiment whose variants a transaction touched: an
experiment with variants has exactly one control (an admin inline or an API write may move the control
from one row to another inside its transaction). The function outlives its table (a database reset by dropping tables keeps it), so it is created
with OR REPLACE. SQLite has no constraint triggers; there the services
and forms hold the rule (routing.services.experiments.validate_variants).
"""

from django.db import migrations

VARIANT = "routing_routingexperimentvariant"

FORWARD = f"""
CREATE OR REPLACE FUNCTION routing_experiment_one_control() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched uuid;
    variants integer;
    controls integer;
BEGIN
    FOREACH touched IN ARRAY ARRAY[
        CASE WHEN TG_OP <> 'INSERT' THEN OLD.experiment_id END,
        CASE WHEN TG_OP <> 'DELETE' THEN NEW.experiment_id END
    ] LOOP
        CONTINUE WHEN touched IS NULL;
        SELECT count(*), count(*) FILTER (WHERE is_control) INTO variants, controls
        FROM {VARIANT} WHERE experiment_id = touched;
        IF variants > 0 AND controls <> 1 THEN
            RAISE EXCEPTION 'experiment % has % control variants; exactly one is required', touched, controls
                USING ERRCODE = '23514', CONSTRAINT = 'experiment_exactly_one_control';
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS experiment_exactly_one_control ON {VARIANT};
CREATE CONSTRAINT TRIGGER experiment_exactly_one_control
    AFTER INSERT OR UPDATE OR DELETE ON {VARIANT}
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION routing_experiment_one_control();
"""

BACKWARD = f"""
DROP TRIGGER IF EXISTS experiment_exactly_one_control ON {VARIANT};
DROP FUNCTION IF EXISTS routing_experiment_one_control();
"""


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL that runs on PostgreSQL only (a no-op elsewhere, in both directions)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("routing", "0011_lead_routing_tables")]

    operations = [PostgresOnlySQL(FORWARD, BACKWARD)]
