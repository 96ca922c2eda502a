"""A generator of Phase 1 SQLite files, the seed's two tables exactly as written there, for tests and the
importer benchmark (bench_import_legacy).

`phase1_file_write` writes `agents` ordinary agents and `tasks` ordinary tasks (reproducible from
`seed`), plus, with `edge_cases`, one row of every shape the importer must handle, good and bad, and
returns what a correct import makes of the file (Phase1Sample): which rows are bad and why, which values
are remapped, which task belongs to which agent.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

PHASE1_SCHEMA = """
CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    agent_type TEXT NOT NULL,
    status TEXT DEFAULT 'idle',
    capabilities TEXT,  -- JSON string
    system_prompt TEXT,
    model_provider TEXT DEFAULT 'openrouter',
    model_name TEXT DEFAULT 'auto',
    created_at TEXT,
    updated_at TEXT
);

CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT,
    status TEXT DEFAULT 'pending',
    priority TEXT DEFAULT 'medium',
    assigned_agent_id TEXT,
    created_at TEXT,
    updated_at TEXT,
    FOREIGN KEY (assigned_agent_id) REFERENCES agents (id)
);
"""

AGENT_INSERT = (
    "INSERT INTO agents (id, name, agent_type, status, capabilities, system_prompt, model_provider, "
    "model_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
TASK_INSERT = (
    "INSERT INTO tasks (id, title, description, status, priority, assigned_agent_id, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)

# Every timestamp shape Phase 1 wrote (all valid): ISO with T, SQLite's CURRENT_TIMESTAMP with a space,
# fractional seconds, Z, positive and negative offsets, a bare date, and NULL.
TIMESTAMP_SHAPES = (
    "2024-03-05T10:15:30",
    "2024-03-05 10:15:30",
    "2024-03-05T10:15:30.123456",
    "2024-03-05T10:15:30.5",
    "2024-03-05T10:15:30Z",
    "2024-03-05T12:15:30+02:00",
    "2024-03-05T05:15:30.250-05:00",
    "2024-03-05",
    None,
)
CAPABILITY_POOL = ("web_search", "crm", "email", "phone", "scheduling", "billing", "reporting", "translation")
STATUSES = ("idle", "active", "busy", "error", "offline")
TASK_STATUSES = ("pending", "in_progress", "completed", "failed", "cancelled")
PRIORITIES = ("low", "medium", "high", "urgent")


@dataclass
class Phase1Sample:
    path: Path
    agents: int = 0
    tasks: int = 0
    bad: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, shown id) -> reason fragment
    remaps: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (table, id, column) -> stored
    links: dict[str, str | None] = field(default_factory=dict)  # good task id -> its agent's legacy id

    @property
    def good_agents(self) -> int:
        return self.agents - sum(1 for table, _ in self.bad if table == "agents")

    @property
    def good_tasks(self) -> int:
        return self.tasks - sum(1 for table, _ in self.bad if table == "tasks")


def _edge_agents() -> tuple[list[tuple], dict[tuple[str, str], str], dict[tuple[str, str, str], str]]:
    good = [
        # id shapes: unicode, spaces (kept exactly), a number, a UUID-looking id, quotes, emoji
        (
            "ägent-ü",
            "Señor Bot 日本",
            "chief_of_staff",
            "idle",
            '["web_search", "翻訳"]',
            "Be kind.",
            "openrouter",
            "auto",
            TIMESTAMP_SHAPES[0],
            TIMESTAMP_SHAPES[1],
        ),
        (
            "agent with spaces ",
            "Twin",
            "master_operator",
            "active",
            None,
            None,
            None,
            None,
            TIMESTAMP_SHAPES[2],
            None,
        ),
        (
            "42",
            "Twin",
            "master_operator",
            None,
            "",
            None,
            "anthropic",
            "claude",
            TIMESTAMP_SHAPES[3],
            TIMESTAMP_SHAPES[4],
        ),
        (
            "0b9a3c1e-5d7f-4f3a-9e2b-7c1d2e3f4a5b",
            'O\'Brien "the" bot',
            "chief_of_staff",
            "IDLE",
            "   ",
            "",
            "openrouter",
            "auto",
            TIMESTAMP_SHAPES[5],
            TIMESTAMP_SHAPES[6],
        ),
        (
            "🤖-007",
            "Emoji 🤖",
            "Master Operator",
            "running",
            '["crm", "crm", "email"]',
            None,
            "openrouter",
            "auto",
            TIMESTAMP_SHAPES[7],
            None,
        ),
        (
            "AGT-zombie",
            "Unknown status",
            "master-operator",
            "zombie",
            "[]",
            None,
            "openrouter",
            "auto",
            None,
            None,
        ),
        (
            "x" * 300,
            "Long id",
            "chief_of_staff",
            "offline",
            '["reporting"]',
            None,
            "openrouter",
            "auto",
            None,
            None,
        ),
    ]
    bad_rows = [
        ("bad-json", "Broken JSON", "master_operator", "idle", '["crm",', None, None, None, None, None),
        (
            "bad-json-object",
            "JSON object",
            "master_operator",
            "idle",
            '{"crm": 0.9}',
            None,
            None,
            None,
            None,
            None,
        ),
        ("bad-json-item", "JSON number", "master_operator", "idle", "[1, 2]", None, None, None, None, None),
        ("bad-empty-name", "", "master_operator", "idle", None, None, None, None, None, None),
        ("bad-blank-name", "   ", "master_operator", "idle", None, None, None, None, None, None),
        ("bad-type", "Robot", "assistant", "idle", None, None, None, None, None, None),
        ("bad-time", "Bad time", "chief_of_staff", "idle", None, None, None, None, "yesterday", None),
        ("bad-empty-time", "Empty time", "chief_of_staff", "idle", None, None, None, None, "", None),
        (None, "No id", "chief_of_staff", "idle", None, None, None, None, None, None),
    ]
    bad = {
        ("agents", "bad-json"): "not valid JSON",
        ("agents", "bad-json-object"): "JSON dict, not a list",
        ("agents", "bad-json-item"): "capabilities[0] is not a non-empty string",
        ("agents", "bad-empty-name"): "name is empty",
        ("agents", "bad-blank-name"): "name is empty",
        ("agents", "bad-type"): "agent_type 'assistant'",
        ("agents", "bad-time"): "created_at 'yesterday' is not an ISO 8601 timestamp",
        ("agents", "bad-empty-time"): "created_at '' is not an ISO 8601 timestamp",
        ("agents", "(NULL)"): "id is NULL",
    }
    remaps = {
        ("agents", "0b9a3c1e-5d7f-4f3a-9e2b-7c1d2e3f4a5b", "status"): "idle",
        ("agents", "🤖-007", "agent_type"): "master_operator",
        ("agents", "🤖-007", "status"): "active",
        ("agents", "AGT-zombie", "agent_type"): "master_operator",
        ("agents", "AGT-zombie", "status"): "offline",
    }
    return good + bad_rows, bad, remaps


def _edge_tasks() -> tuple[
    list[tuple], dict[tuple[str, str], str], dict[tuple[str, str, str], str], dict[str, str | None]
]:
    good = [
        (
            "t-unicode",
            "Überprüfen: Rechnung №7",
            "Beschreibung mit Umlauten äöü",
            "pending",
            "high",
            "ägent-ü",
            TIMESTAMP_SHAPES[6],
            TIMESTAMP_SHAPES[5],
        ),
        (
            "t-twin-a",
            "For the first twin",
            None,
            "done",
            "normal",
            "agent with spaces ",
            TIMESTAMP_SHAPES[1],
            None,
        ),
        ("t-twin-b", "For the second twin", "", "running", "critical", "42", None, None),
        ("t-unassigned", "Nobody yet", None, None, None, None, TIMESTAMP_SHAPES[4], TIMESTAMP_SHAPES[7]),
        ("t-weird-status", "Weird status", None, "on hold", "asap", "🤖-007", None, None),
        ("t-long-agent", "Long agent id", None, "completed", "low", "x" * 300, None, None),
    ]
    bad_rows = [
        ("t-orphan", "Points nowhere", None, "pending", "low", "ghost-agent", None, None),
        ("t-bad-agent", "Points at a bad row", None, "pending", "low", "bad-json", None, None),
        ("t-empty-title", "", None, "pending", "low", None, None, None),
        ("t-bad-time", "Bad time", None, "pending", "low", None, None, "2024-13-45T99:00:00"),
    ]
    bad = {
        ("tasks", "t-orphan"): "assigned agent 'ghost-agent' does not exist (orphan task)",
        ("tasks", "t-bad-agent"): "assigned agent 'bad-json' is a bad row",
        ("tasks", "t-empty-title"): "title is empty",
        ("tasks", "t-bad-time"): "updated_at '2024-13-45T99:00:00' is not an ISO 8601 timestamp",
    }
    remaps = {
        ("tasks", "t-twin-a", "status"): "completed",
        ("tasks", "t-twin-a", "priority"): "medium",
        ("tasks", "t-twin-b", "status"): "in_progress",
        ("tasks", "t-twin-b", "priority"): "urgent",
        ("tasks", "t-weird-status", "status"): "pending",
        ("tasks", "t-weird-status", "priority"): "medium",
    }
    links = {row[0]: row[5] for row in good}
    return good + bad_rows, bad, remaps, links


def phase1_file_write(
    path: str | Path, *, agents: int = 20, tasks: int = 60, seed: int = 3, edge_cases: bool = True
) -> Phase1Sample:
    """Write a Phase 1 file at `path` (replacing it) and return what a correct import makes of it."""
    path = Path(path)
    path.unlink(missing_ok=True)
    rng = random.Random(seed)
    sample = Phase1Sample(path=path)
    connection = sqlite3.connect(path)
    try:
        connection.executescript(PHASE1_SCHEMA)
        agent_ids = [f"agt-{n:06d}" for n in range(agents)]
        connection.executemany(
            AGENT_INSERT,
            (
                (
                    agent_id,
                    f"Agent {n}",
                    rng.choice(("chief_of_staff", "master_operator")),
                    rng.choice(STATUSES),
                    json.dumps(rng.sample(CAPABILITY_POOL, rng.randint(0, 3))),
                    f"Prompt {n}",
                    "openrouter",
                    "auto",
                    rng.choice(TIMESTAMP_SHAPES),
                    rng.choice(TIMESTAMP_SHAPES),
                )
                for n, agent_id in enumerate(agent_ids)
            ),
        )
        task_rows = []
        for n in range(tasks):
            agent_id = rng.choice(agent_ids) if agent_ids and rng.random() < 0.7 else None
            task_id = f"task-{n:07d}"
            sample.links[task_id] = agent_id
            task_rows.append(
                (
                    task_id,
                    f"Task {n}",
                    rng.choice((None, f"Description of task {n}")),
                    rng.choice(TASK_STATUSES),
                    rng.choice(PRIORITIES),
                    agent_id,
                    rng.choice(TIMESTAMP_SHAPES),
                    rng.choice(TIMESTAMP_SHAPES),
                )
            )
        connection.executemany(TASK_INSERT, task_rows)
        sample.agents, sample.tasks = agents, tasks
        if edge_cases:
            edge_agent_rows, bad, remaps = _edge_agents()
            connection.executemany(AGENT_INSERT, edge_agent_rows)
            edge_task_rows, task_bad, task_remaps, links = _edge_tasks()
            connection.executemany(TASK_INSERT, edge_task_rows)
            sample.agents += len(edge_agent_rows)
            sample.tasks += len(edge_task_rows)
            sample.bad = {**bad, **task_bad}
            sample.remaps = {**remaps, **task_remaps}
            sample.links.update(links)
        connection.commit()
    finally:
        connection.close()
    return sample
