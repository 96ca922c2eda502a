"""import_legacy_platform on generated Phase 1 files: every edge case, links kept, all-or-nothing and
--skip-invalid, dry run, idempotence, and a validation that catches differences."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from agents.automation.legacy.importer import legacy_import
from agents.automation.legacy.phase1 import BadValue, Phase1FileError, capabilities, timestamp
from agents.automation.legacy.samples import PHASE1_SCHEMA, phase1_file_write
from agents.models import AgentCapability, AgentTask, AutomatedAgent

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture
def sample(tmp_path: Path):
    return phase1_file_write(tmp_path / "agents.db", agents=12, tasks=40, seed=5)


def _counts() -> tuple[int, int, int]:
    return AutomatedAgent.objects.count(), AgentCapability.objects.count(), AgentTask.objects.count()


# --- the mapping rules, without the database ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("2024-03-05T10:15:30", dt.datetime(2024, 3, 5, 10, 15, 30, tzinfo=UTC)),
        ("2024-03-05 10:15:30", dt.datetime(2024, 3, 5, 10, 15, 30, tzinfo=UTC)),
        ("2024-03-05T10:15:30.123456", dt.datetime(2024, 3, 5, 10, 15, 30, 123456, tzinfo=UTC)),
        ("2024-03-05T10:15:30Z", dt.datetime(2024, 3, 5, 10, 15, 30, tzinfo=UTC)),
        ("2024-03-05T12:15:30+02:00", dt.datetime(2024, 3, 5, 10, 15, 30, tzinfo=UTC)),
        ("2024-03-05T05:15:30.250-05:00", dt.datetime(2024, 3, 5, 10, 15, 30, 250000, tzinfo=UTC)),
        ("2024-03-05", dt.datetime(2024, 3, 5, tzinfo=UTC)),
        (" 2024-03-05T10:15:30 ", dt.datetime(2024, 3, 5, 10, 15, 30, tzinfo=UTC)),
    ],
)
def test_every_timestamp_shape_becomes_an_aware_utc_datetime(text, expected):
    assert timestamp(text, "created_at") == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2024-13-01", "1709633730"])
def test_anything_else_is_not_a_timestamp(text):
    with pytest.raises(BadValue, match="is not an ISO 8601 timestamp"):
        timestamp(text, "created_at")


@pytest.mark.parametrize(
    ("text", "expected"),
    [(None, ()), ("", ()), ("  ", ()), ("[]", ()), ('["a", "b", "a"]', ("a", "b")), ('["翻訳"]', ("翻訳",))],
)
def test_capabilities_text_becomes_a_list_of_distinct_names(text, expected):
    assert capabilities(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('["a",', "not valid JSON"),
        ('"a"', "JSON str, not a list"),
        ('[""]', "capabilities[0]"),
        ("[null]", "capabilities[0]"),
    ],
)
def test_bad_capabilities_text_is_a_reason(text, reason):
    with pytest.raises(BadValue, match=reason.replace("[", r"\[")):
        capabilities(text)


# --- all-or-nothing and --skip-invalid ---------------------------------------------------------------------


def test_by_default_one_bad_row_stops_the_import_and_every_bad_row_is_listed(sample, capsys):
    with pytest.raises(CommandError, match=f"{len(sample.bad)} bad row"):
        call_command("import_legacy_platform", str(sample.path))

    assert _counts() == (0, 0, 0)
    out = capsys.readouterr().out
    for (table, legacy_id), reason in sample.bad.items():
        assert f"{table}" in out and legacy_id in out and reason in out


def test_skip_invalid_imports_every_good_row_with_its_link_and_lists_the_rest(sample):
    report = legacy_import(path=sample.path, skip_invalid=True)

    assert report.ok and report.written
    assert {(row.table, row.legacy_id): row.reason for row in report.bad_rows}.keys() == sample.bad.keys()
    for row in report.bad_rows:
        assert sample.bad[(row.table, row.legacy_id)] in row.reason
    assert {(r.table, r.legacy_id, r.column): r.stored for r in report.remaps} == sample.remaps
    assert AutomatedAgent.objects.count() == sample.good_agents
    assert AgentTask.objects.count() == sample.good_tasks
    links = dict(AgentTask.objects.values_list("legacy_id", "assigned_agent__legacy_id"))
    assert links == {task: agent for task, agent in sample.links.items() if task in links}
    assert len(links) == sample.good_tasks
    assert all(isinstance(agent.pk, type(AutomatedAgent().pk)) for agent in AutomatedAgent.objects.all())


def test_edge_case_rows_are_stored_as_the_rules_say(sample):
    legacy_import(path=sample.path, skip_invalid=True)
    agents = {agent.legacy_id: agent for agent in AutomatedAgent.objects.all()}

    unicode = agents["ägent-ü"]
    assert (unicode.name, unicode.capabilities, unicode.system_prompt) == (
        "Señor Bot 日本",
        ["web_search", "翻訳"],
        "Be kind.",
    )
    assert (unicode.created_at, unicode.updated_at) == (dt.datetime(2024, 3, 5, 10, 15, 30, tzinfo=UTC),) * 2
    spaced = agents["agent with spaces "]  # the id is kept exactly, trailing space included
    assert (spaced.capabilities, spaced.model_provider, spaced.model_name, spaced.system_prompt) == (
        [],
        "openrouter",
        "auto",
        None,
    )
    assert spaced.updated_at is None
    numeric = agents["42"]
    assert (numeric.status, numeric.capabilities, numeric.model_provider) == ("idle", [], "anthropic")
    assert agents["0b9a3c1e-5d7f-4f3a-9e2b-7c1d2e3f4a5b"].created_at == dt.datetime(
        2024, 3, 5, 10, 15, 30, tzinfo=UTC
    )
    emoji = agents["🤖-007"]
    assert (emoji.agent_type, emoji.status, emoji.capabilities) == (
        "master_operator",
        "active",
        ["crm", "email"],
    )
    assert emoji.created_at == dt.datetime(2024, 3, 5, tzinfo=UTC)
    assert list(
        AgentCapability.objects.filter(agent=emoji)
        .order_by("capability_name")
        .values_list("capability_name", flat=True)
    ) == ["crm", "email"]
    assert agents["AGT-zombie"].status == "offline"
    assert agents["x" * 300].capabilities == ["reporting"]
    # duplicate names: two agents, each task linked to its own
    twins = AgentTask.objects.filter(legacy_id__in=["t-twin-a", "t-twin-b"]).order_by("legacy_id")
    assert [(task.assigned_agent.name, task.assigned_agent.legacy_id) for task in twins] == [
        ("Twin", "agent with spaces "),
        ("Twin", "42"),
    ]
    task = AgentTask.objects.get(legacy_id="t-unicode")
    assert (task.title, task.priority, task.assigned_agent.legacy_id) == (
        "Überprüfen: Rechnung №7",
        "high",
        "ägent-ü",
    )
    assert AgentTask.objects.get(legacy_id="t-twin-b").description == ""
    assert AgentTask.objects.get(legacy_id="t-twin-a").description is None


# --- idempotence, dry run, validation ------------------------------------------------------------------------


def test_a_second_run_changes_nothing_and_duplicates_nothing(sample):
    legacy_import(path=sample.path, skip_invalid=True)
    before = sorted(AutomatedAgent.objects.values_list("legacy_id", "pk", "updated_at"))
    tasks_before = sorted(AgentTask.objects.values_list("legacy_id", "pk", "assigned_agent_id"))

    again = legacy_import(path=sample.path, skip_invalid=True)

    assert again.ok
    assert again.created == {"agents": 0, "agent_capabilities": 0, "tasks": 0}
    assert again.already_imported == {"agents": sample.good_agents, "tasks": sample.good_tasks}
    assert sorted(AutomatedAgent.objects.values_list("legacy_id", "pk", "updated_at")) == before
    assert sorted(AgentTask.objects.values_list("legacy_id", "pk", "assigned_agent_id")) == tasks_before


def test_dry_run_validates_then_writes_nothing(sample, capsys):
    call_command("import_legacy_platform", str(sample.path), "--dry-run", "--skip-invalid")

    assert _counts() == (0, 0, 0)
    out = capsys.readouterr().out
    assert f"would write {sample.good_agents} agents" in out
    assert "dry run: validated, then rolled back; nothing was written." in out
    assert out.count(" ok\n") == 3


def test_the_validation_prints_counts_and_checksums_per_table(sample, capsys):
    call_command("import_legacy_platform", str(sample.path), "--skip-invalid")

    validation = capsys.readouterr().out.split("validation (")[1].splitlines()[2:]
    for table in ("agents", "agent_capabilities", "tasks"):
        line = next(line for line in validation if line.strip().startswith(f"{table} "))
        columns = line.split()
        assert columns[1] == columns[2] and columns[3] == columns[4] and columns[5] == "ok", line


def test_a_row_changed_since_import_is_a_validation_difference_naming_it(sample, capsys):
    legacy_import(path=sample.path, skip_invalid=True)
    AgentTask.objects.filter(legacy_id="t-unicode").update(title="Edited since")

    with pytest.raises(CommandError, match="differences in tasks"):
        call_command("import_legacy_platform", str(sample.path), "--skip-invalid")

    assert "DIFFERENT (e.g. t-unicode)" in capsys.readouterr().out


def test_a_task_finds_an_agent_imported_by_an_earlier_run(tmp_path, sample):
    legacy_import(path=sample.path, skip_invalid=True)
    later = tmp_path / "later.db"
    with sqlite3.connect(later) as connection:
        connection.executescript(PHASE1_SCHEMA)
        connection.execute(
            "INSERT INTO tasks (id, title, assigned_agent_id) VALUES ('late-task', 'Late', '42')"
        )

    report = legacy_import(path=later)

    assert report.ok
    assert AgentTask.objects.get(legacy_id="late-task").assigned_agent.legacy_id == "42"


def test_a_clean_file_imports_all_or_nothing_without_flags(tmp_path):
    clean = phase1_file_write(tmp_path / "clean.db", agents=5, tasks=10, edge_cases=False)

    report = legacy_import(path=clean.path)

    assert report.ok and not report.bad_rows
    assert (AutomatedAgent.objects.count(), AgentTask.objects.count()) == (5, 10)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda path: None, "no such file"),
        (lambda path: path.write_text("not a database " * 100), "not a readable SQLite database"),
        (
            lambda path: sqlite3.connect(path).executescript(PHASE1_SCHEMA.split("CREATE TABLE tasks")[0]),
            "no `tasks` table",
        ),
        (
            lambda path: sqlite3.connect(path).executescript(
                PHASE1_SCHEMA.replace("    model_name TEXT DEFAULT 'auto',\n", "")
            ),
            "table `agents` lacks column(s) model_name",
        ),
    ],
)
def test_a_file_that_is_not_phase_1_is_refused_with_the_reason(tmp_path, setup, message):
    path = tmp_path / "agents.db"
    setup(path)

    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("import_legacy_platform", str(path))
    with pytest.raises(Phase1FileError):
        legacy_import(path=path)
