"""Migrations 0009 (the automated agents' schema) and 0010 (PostgreSQL full-text indexes and ON DELETE
rules), forward and back, with django-test-migrations."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.usefixtures("seed_rows_back_after_flush")

# The migrations under test, by role (renumbered at merge: only this constant names them).
MIGRATIONS = {
    "before": ("agents", "0008_agent_rules_follow_the_seeds"),
    "schema": ("agents", "0009_automated_agents_tasks_workflows"),
    "postgres": ("agents", "0010_automation_fulltext_and_delete_rules"),
}
TABLES = {
    "agents_automatedagent",
    "agents_agentcapability",
    "agents_agentperformancesample",
    "agents_agentmessage",
    "agents_agenttask",
    "agents_workflow",
    "agents_historicalworkflow",
    "agents_workflowexecution",
}


def _tables() -> set[str]:
    return set(connection.introspection.table_names()) & TABLES


def _search_indexes() -> set[str]:
    if connection.vendor != "postgresql":
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname IN ('idx_tasks_search', 'idx_workflows_search')"
        )
        return {row[0] for row in cursor.fetchall()}


def test_forward_creates_the_schema_keeping_rows_and_back_removes_it_exactly(migrator):
    # given: the schema before, with an existing human agent
    before = migrator.apply_initial_migration(MIGRATIONS["before"])
    human = before.apps.get_model("agents", "HumanAgent").objects.create(
        code="keep_me", name="Kept", email="keep@example.com", skill_level="senior"
    )
    assert _tables() == set()

    # when
    after = migrator.apply_tested_migration(MIGRATIONS["postgres"])

    # then: every table, usable through the historical models, and on PostgreSQL the GIN indexes
    assert _tables() == TABLES
    Agent = after.apps.get_model("agents", "AutomatedAgent")
    Task = after.apps.get_model("agents", "AgentTask")
    agent = Agent.objects.create(name="Bot", agent_type="master_operator")
    Task.objects.create(title="T", assigned_agent=agent)
    assert after.apps.get_model("agents", "HumanAgent").objects.filter(pk=human.pk).exists()
    if connection.vendor == "postgresql":
        assert _search_indexes() == {"idx_tasks_search", "idx_workflows_search"}

    # when: back to before
    migrator.apply_tested_migration(MIGRATIONS["before"])

    # then
    assert _tables() == set()
    assert _search_indexes() == set()
