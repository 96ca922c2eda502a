"""Full-text search of tasks and workflows: the same words found on both databases; on PostgreSQL the
seed's GIN indexes serve it (the plan names them) and English stemming applies."""

from __future__ import annotations

import pytest
from django.db import connection

from agents.automation.selectors import task_search, workflow_search
from agents.models import AgentTask, Workflow
from tests.factories.automation import AgentTaskFactory, WorkflowFactory

pytestmark = pytest.mark.django_db


def _titles(terms: str) -> list[str]:
    return sorted(task_search(AgentTask.objects.all(), terms).values_list("title", flat=True))


@pytest.fixture
def tasks() -> None:
    AgentTaskFactory(title="Refund invoice 1042", description="Customer was double charged")
    AgentTaskFactory(title="Schedule a demo", description=None)
    AgentTaskFactory(title="Überweisung prüfen", description="Zahlung für März")


def test_every_word_must_match_title_or_description(tasks):
    assert _titles("refund") == ["Refund invoice 1042"]
    assert _titles("INVOICE charged") == ["Refund invoice 1042"]
    assert _titles("demo") == ["Schedule a demo"]
    assert _titles("refund demo") == []
    assert _titles("1042") == ["Refund invoice 1042"]


def test_punctuation_separates_words_and_terms_without_words_filter_nothing(tasks):
    assert _titles("refund, invoice!") == ["Refund invoice 1042"]
    assert len(_titles("?!")) == 3


def test_unicode_words_are_found(tasks):
    assert _titles("Zahlung") == ["Überweisung prüfen"]


def test_workflow_search_covers_name_and_description():
    WorkflowFactory(name="Churn rescue", description="Win back lapsed accounts")
    WorkflowFactory(name="Onboarding", description=None)

    found = workflow_search(Workflow.objects.all(), "lapsed accounts")

    assert list(found.values_list("name", flat=True)) == ["Churn rescue"]


@pytest.mark.postgres
def test_postgres_stems_english_words(tasks):
    assert _titles("refunds charging") == ["Refund invoice 1042"]
    assert _titles("scheduled demos") == ["Schedule a demo"]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("queryset", "search", "index"),
    [
        (AgentTask.objects.all(), task_search, "idx_tasks_search"),
        (Workflow.objects.all(), workflow_search, "idx_workflows_search"),
    ],
)
def test_postgres_searches_through_the_seeds_gin_index(queryset, search, index):
    AgentTaskFactory.create_batch(3)
    WorkflowFactory.create_batch(3)
    sql, params = search(queryset, "refund invoice").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a handful of rows: make the planner show its hand
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert index in plan, plan
