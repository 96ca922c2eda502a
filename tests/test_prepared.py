"""config.prepared: server-side prepared statements for the routing searches, and the literals that
keep their generic plans on the partial indexes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from config.prepared import enabled, literal, literals, prepared_cursor
from routing.engine.rules import ring_for
from routing.selectors import agent_candidates, agent_profile
from routing.services.requests import case_work_profile
from tests.factories.routing import CaseAssignmentFactory, retire_seed_roster, routable_agent

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "value, expected", [("assigned", "'assigned'"), ("in_progress", "'in_progress'"), (50, "50")]
)
def test_a_constant_becomes_its_literal(value, expected):
    assert literal(value) == expected


@pytest.mark.parametrize("value", ["O'Brien", "Assigned", "a b", "", "x;--", True, 1.5, None, ["a"]])
def test_anything_that_could_need_quoting_is_refused(value):
    with pytest.raises((TypeError, ValueError), match="not a literal constant"):
        literal(value)


def test_a_list_of_constants():
    assert literals(["assigned", "in_progress"]) == "'assigned', 'in_progress'"


def test_switched_off_the_ordinary_cursor_serves(settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    assert not enabled()


@pytest.mark.django_db
def test_the_cursor_is_counted_and_answers_like_any_other():
    with CaptureQueriesContext(connection) as queries, prepared_cursor() as cursor:
        cursor.execute("SELECT %s + 1", [41])
        assert cursor.fetchone()[0] == 42
    assert len(queries.captured_queries) == 1


@pytest.mark.django_db
def test_a_database_error_is_djangos():
    with pytest.raises(DatabaseError), prepared_cursor() as cursor:
        cursor.execute("SELECT no_such_column FROM agents_humanagent")


def _prepared_statements() -> dict[str, tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        return {statement: (generic, custom) for statement, generic, custom in cursor.fetchall()}


@pytest.fixture
def agents(db):
    retire_seed_roster()
    made = [
        routable_agent(skills={"billing": level}, capacity=3, languages=("en", "fr"))
        for level in ("basic", "intermediate", "advanced", "expert")
    ]
    CaseAssignmentFactory(agent=made[1], complexity="high", status="assigned")
    return made


@pytest.mark.postgres
def test_the_searches_run_prepared_and_their_generic_plans_answer_as_the_ordinary_statements(agents):
    """Past its first five executions PostgreSQL runs a prepared statement on its generic plan; the
    candidate search and the profile read must answer the same through it as unprepared."""
    work = case_work_profile(
        case_id="X",
        priority="low",
        complexity="high",
        frustration="low",
        required_skills=["billing"],
        language="fr",
        special_requirements={},
    )
    ring = ring_for(work, 0)

    def search():
        found = agent_candidates(work=work, ring=ring, now=NOW, lockout=3)
        return found.agents, [agent_profile(agent_id=agent.pk, now=NOW) for agent in agents]

    before = _prepared_statements()
    with override_settings(DATABASE_PREPARED_STATEMENTS=False):
        unprepared = search()
    assert _prepared_statements() == before
    assert [profile.open_difficult for profile in unprepared[1]] == [0, 1, 0, 0]
    for _ in range(8):
        assert search() == unprepared
    plans = {
        statement: counts for statement, counts in _prepared_statements().items() if statement not in before
    }
    assert len(plans) == 2  # the search and the profile read, each prepared once for all its calls
    assert all(generic >= 1 for generic, _ in plans.values()), plans
