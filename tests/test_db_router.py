"""Read replicas: the router sends lag-tolerant reads (list endpoints, replica_reads() scopes) to a
replica and everything else to the primary. The replica here is a second database alias pointing at the
same server and test database, on its own connection, so what it reads is what was committed."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.db import connections, router, transaction
from django.test.utils import CaptureQueriesContext

from agents.models import AgentTask, AutomatedAgent
from config.db_router import ReplicaRouter, replica_reads
from tests.factories.automation import AgentTaskFactory, AutomatedAgentFactory

REPLICA = "replica_test"
MIDDLEWARE = "config.db_router.ReplicaReadsMiddleware"


# The second alias exists before the test databases are set up (this module is imported at collection),
# as a TEST MIRROR of default: Django points it at the same test database, on a connection of its own.
connections.settings.setdefault(
    REPLICA,
    connections.configure_settings(
        {"default": {**django_settings.DATABASES["default"], "TEST": {"MIRROR": "default"}}}
    )["default"],
)


@pytest.fixture
def replica(settings) -> Iterator[str]:
    settings.DATABASE_REPLICAS = [REPLICA]
    settings.DATABASE_ROUTERS = ["config.db_router.ReplicaRouter"]
    settings.MIDDLEWARE = [*settings.MIDDLEWARE[:-1], MIDDLEWARE, settings.MIDDLEWARE[-1]]
    yield REPLICA
    connections[REPLICA].close()


with_replica = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])


def _tables_read(context: CaptureQueriesContext) -> str:
    return " ".join(query["sql"] for query in context.captured_queries)


pytestmark = pytest.mark.usefixtures("seed_rows_back_after_flush")


@pytest.mark.django_db
def test_without_replicas_every_read_is_the_primarys(settings):
    assert settings.DATABASE_REPLICAS == []
    with replica_reads():
        assert router.db_for_read(AutomatedAgent) == "default"
        assert AutomatedAgent.objects.all().db == "default"


@with_replica
def test_reads_in_a_replica_scope_go_to_the_replica_and_see_committed_rows(replica):
    agent = AutomatedAgentFactory(name="Committed")

    with replica_reads(), CaptureQueriesContext(connections[replica]) as on_replica:
        names = list(AutomatedAgent.objects.values_list("name", flat=True))

    assert names == [agent.name]
    assert "agents_automatedagent" in _tables_read(on_replica)


@with_replica
def test_writes_and_every_read_after_a_write_go_to_the_primary(replica):
    with replica_reads(), CaptureQueriesContext(connections[replica]) as on_replica:
        AutomatedAgent.objects.create(name="New", agent_type="master_operator")
        assert AutomatedAgent.objects.filter(name="New").exists()

    assert on_replica.captured_queries == []


@with_replica
def test_reads_inside_a_transaction_go_to_the_primary(replica):
    AutomatedAgentFactory()
    with replica_reads(), CaptureQueriesContext(connections[replica]) as on_replica, transaction.atomic():
        list(AutomatedAgent.objects.select_for_update())
        list(AutomatedAgent.objects.all())

    assert on_replica.captured_queries == []


@with_replica
def test_who_may_do_what_is_always_read_from_the_primary(replica):
    User.objects.create_user("someone")
    with replica_reads(), CaptureQueriesContext(connections[replica]) as on_replica:
        assert User.objects.filter(username="someone").exists()

    assert on_replica.captured_queries == []


@with_replica
def test_api_list_endpoints_read_the_replica_and_the_rest_the_primary(replica, supervisor_client):
    AgentTaskFactory(title="Listed")

    with CaptureQueriesContext(connections[replica]) as on_replica:
        listed = supervisor_client.get("/api/v1/automation/tasks/")
        humans = supervisor_client.get("/api/v1/agents/")
    assert listed.status_code == 200 and humans.status_code == 200
    assert [task["title"] for task in listed.json()["results"]] == ["Listed"]
    read = _tables_read(on_replica)
    assert "agents_agenttask" in read and "agents_humanagent" in read
    assert "authtoken_token" not in read and "auth_user" not in read  # authentication stayed on the primary

    task = AgentTask.objects.get()
    with CaptureQueriesContext(connections[replica]) as on_replica:
        assert supervisor_client.get(f"/api/v1/automation/tasks/{task.pk}/").status_code == 200
        assert supervisor_client.post("/api/v1/automation/tasks/", {"title": "Written"}).status_code == 201
    assert on_replica.captured_queries == []


@with_replica
def test_migrations_never_run_on_a_replica(replica):
    assert ReplicaRouter().allow_migrate(replica, "agents") is False
    assert ReplicaRouter().allow_migrate("default", "agents") is None


def test_replicas_come_from_database_replica_urls(monkeypatch):
    monkeypatch.setenv(
        "DATABASE_REPLICA_URLS", "postgres://ro@replica-a:5432/sb,postgres://ro@replica-b:5432/sb"
    )
    package = importlib.import_module("config.settings")
    monkeypatch.setattr(package, "base", sys.modules["config.settings.base"])
    monkeypatch.delitem(sys.modules, "config.settings.base")
    base = importlib.import_module("config.settings.base")

    assert base.DATABASE_REPLICAS == ["replica_1", "replica_2"]
    assert base.DATABASES["replica_2"]["HOST"] == "replica-b"
    assert base.DATABASES["replica_1"]["TEST"] == {"MIRROR": "default"}
    assert "jit=off" in base.DATABASES["replica_1"]["OPTIONS"]["options"]
    assert base.DATABASE_ROUTERS == ["config.db_router.ReplicaRouter"]
    assert base.MIDDLEWARE[-2:] == [MIDDLEWARE, "axes.middleware.AxesMiddleware"]
