"""Seed 001's migrations forward and back (its rollback is `migrate routing 0010`), the post-migration
data step (idempotent, reversed exactly) and verify_routing_tables."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

pytestmark = pytest.mark.usefixtures("seed_rows_back_after_flush")

BEFORE = ("routing", "0010_queue_language_deadline_index")
TABLES = (
    "routing_lead",
    "routing_leadroutinghistory",
    "routing_assignmentqueue",
    "routing_routingrule",
    "routing_routingexperiment",
    "routing_routingexperimentvariant",
    "routing_leadexperimentassignment",
)


def _tables() -> set[str]:
    return set(connection.introspection.table_names())


def test_the_lead_tables_come_and_go_with_the_migrations(migrator):
    migrator.apply_initial_migration(BEFORE)
    assert not set(TABLES) & _tables()
    state = migrator.apply_tested_migration(("routing", "0013_lead_routing_defaults"))
    assert set(TABLES) <= _tables()
    assert state.apps.get_model("routing", "RoutingRule").objects.count() == 6
    columns = {
        c.name
        for c in connection.introspection.get_table_description(connection.cursor(), "routing_routingevent")
    }
    assert "lead_id" in columns
    migrator.apply_tested_migration(BEFORE)
    assert not set(TABLES) & _tables()


def test_the_data_step_is_idempotent_keeps_edits_and_reverses_exactly(migrator):
    from importlib import import_module

    step = import_module("routing.migrations.0013_lead_routing_defaults")
    state = migrator.apply_initial_migration(("routing", "0013_lead_routing_defaults"))
    Rule = state.apps.get_model("routing", "RoutingRule")
    Rule.objects.filter(name="Cold leads to nurture").update(priority=5)  # a supervisor's edit
    step.rules_install(state.apps, None)
    assert Rule.objects.count() == 6
    Rule.objects.create(name="mine", rule_type="set_priority", action={"boost": 1})
    step.rules_remove(state.apps, None)
    assert set(Rule.objects.values_list("name", flat=True)) == {"Cold leads to nurture", "mine"}


def test_the_data_step_gives_every_agent_an_availability_row(migrator):
    from importlib import import_module

    step = import_module("routing.migrations.0013_lead_routing_defaults")
    state = migrator.apply_initial_migration(("routing", "0013_lead_routing_defaults"))
    HumanAgent = state.apps.get_model("agents", "HumanAgent")
    agent = HumanAgent.objects.create(code="new_one", name="New", email="n@example.com", skill_level="junior")
    step.init_agent_rows(state.apps, None)
    step.init_agent_rows(state.apps, None)
    Availability = state.apps.get_model("agents", "AgentAvailability")
    assert Availability.objects.filter(agent=agent, status="offline").count() == 1


@pytest.mark.django_db
def test_verify_routing_tables_passes_then_fails_on_an_orphan(capsys):
    call_command("verify_routing_tables")
    assert "RoutingRule" in capsys.readouterr().out
    with connection.cursor() as cursor:  # foreign keys are checked at commit, which this test never reaches
        cursor.execute(
            "INSERT INTO routing_assignmentqueue (id, lead_id, queue_type, lead_score, queued_at, sla_expiry, status, "
            "sla_breached, escalated_from, requirements, routing_strategy, strategy_parameters) VALUES "
            "(%s, %s, 'hot', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'waiting', FALSE, '', '{}', '', '{}')",
            [
                uuid.uuid4().hex if connection.vendor == "sqlite" else str(uuid.uuid4()),
                uuid.uuid4().hex if connection.vendor == "sqlite" else str(uuid.uuid4()),
            ],
        )
    with pytest.raises(CommandError, match="queue_lead_orphans"):
        call_command("verify_routing_tables")
    with connection.cursor() as cursor:  # the teardown checks foreign keys
        cursor.execute("DELETE FROM routing_assignmentqueue")
