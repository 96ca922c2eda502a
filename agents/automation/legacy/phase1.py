"""The Phase 1 SQLite file (seed 003, "Phase 1 Tables") and how each of its rows maps to Phase 2.

Pure: the file is read with the standard library's sqlite3 (read-only), rows become plain dataclasses,
and every mapping rule lives here once, shared by the importer's writes and its verification.

The Phase 1 tables, exactly as the seed wrote them:
    agents (id TEXT PRIMARY KEY, name TEXT NOT NULL, agent_type TEXT NOT NULL, status TEXT DEFAULT 'idle',
            capabilities TEXT, system_prompt TEXT, model_provider TEXT DEFAULT 'openrouter',
            model_name TEXT DEFAULT 'auto', created_at TEXT, updated_at TEXT)
    tasks  (id TEXT PRIMARY KEY, title TEXT NOT NULL, description TEXT, status TEXT DEFAULT 'pending',
            priority TEXT DEFAULT 'medium', assigned_agent_id TEXT, created_at TEXT, updated_at TEXT,
            FOREIGN KEY (assigned_agent_id) REFERENCES agents (id))
SQLite enforces little of that: a TEXT PRIMARY KEY may be NULL, NOT NULL lets '' through, the foreign
key is not checked unless a connection asked for it, and any column may hold any text.

Mapping rules (a row breaking one is a bad row, reported with its table, legacy id and reason):
- ids: any non-empty text, kept exactly (case, spaces, unicode) as `legacy_id`; NULL, blank or longer
  than LEGACY_ID_MAX_LENGTH is bad. The new row gets a new UUID; tasks find their agent by legacy id.
- names and titles: must not be blank; at most 255 (agent name) / 500 (task title) characters.
- agent_type: chief_of_staff or master_operator, compared case-insensitively with spaces and hyphens
  read as underscores ("Chief of Staff" is chief_of_staff; such a rewrite is reported); anything else
  is bad: there is no agent type to fall back on.
- status and priority: the Phase 2 values (same case-insensitive reading), a few synonyms (below),
  NULL -> the seed's column default; any other value -> UNKNOWN_AGENT_STATUS (offline: the agent takes
  no task until it reports in) / UNKNOWN_TASK_STATUS (pending: the task is kept, not lost, and waits to
  be looked at) / UNKNOWN_TASK_PRIORITY (medium), each reported as a remap.
- capabilities: NULL, '' or only spaces -> no capabilities; otherwise JSON text holding a list of
  non-empty strings of at most 100 characters, repeats kept once (first place wins); malformed JSON, a
  JSON value that is not a list, or a bad item makes the row bad. Each name is also a capability row.
- timestamps (created_at, updated_at): NULL stays NULL (the seed's Phase 2 columns allow it; nothing is
  invented); ISO 8601 text, with "T" or a space, with or without fractional seconds, with an offset or
  "Z" (converted to UTC) or without one (taken as UTC), or a bare date (midnight UTC); anything else,
  '' included, is bad.
- model_provider, model_name: NULL -> the seed's defaults (openrouter, auto). system_prompt, task
  description: kept as they are, NULL included.
- a task's assigned_agent_id: NULL -> unassigned; otherwise the agent with that legacy id, in this file
  or imported before; an id no agent has (an orphan), or the id of a bad agent row, makes the task bad.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AGENT_COLUMNS = (
    "id",
    "name",
    "agent_type",
    "status",
    "capabilities",
    "system_prompt",
    "model_provider",
    "model_name",
    "created_at",
    "updated_at",
)
TASK_COLUMNS = (
    "id",
    "title",
    "description",
    "status",
    "priority",
    "assigned_agent_id",
    "created_at",
    "updated_at",
)
TABLES = {"agents": AGENT_COLUMNS, "tasks": TASK_COLUMNS}

LEGACY_ID_MAX_LENGTH = 1000  # PostgreSQL's unique index takes ~2,700 bytes: room for any real id
NAME_MAX_LENGTH = 255
TITLE_MAX_LENGTH = 500
CAPABILITY_MAX_LENGTH = 100

AGENT_TYPES = ("chief_of_staff", "master_operator")
AGENT_STATUSES = ("idle", "active", "busy", "error", "offline")
TASK_STATUSES = ("pending", "in_progress", "completed", "failed", "cancelled")
TASK_PRIORITIES = ("low", "medium", "high", "urgent")
AGENT_STATUS_SYNONYMS = {"running": "active", "working": "active", "failed": "error", "stopped": "offline"}
TASK_STATUS_SYNONYMS = {
    "running": "in_progress",
    "in-progress": "in_progress",
    "started": "in_progress",
    "done": "completed",
    "complete": "completed",
    "finished": "completed",
    "error": "failed",
    "canceled": "cancelled",
}
TASK_PRIORITY_SYNONYMS = {"normal": "medium", "critical": "urgent"}
DEFAULT_AGENT_STATUS = "idle"
DEFAULT_TASK_STATUS = "pending"
DEFAULT_TASK_PRIORITY = "medium"
UNKNOWN_AGENT_STATUS = "offline"
UNKNOWN_TASK_STATUS = "pending"
UNKNOWN_TASK_PRIORITY = "medium"
DEFAULT_MODEL_PROVIDER = "openrouter"
DEFAULT_MODEL_NAME = "auto"


class Phase1FileError(Exception):
    """The file is not a Phase 1 database (missing, not SQLite, a table or column missing)."""


class BadValue(ValueError):
    """A value that breaks a mapping rule; its message is the reason reported."""


@dataclass(frozen=True)
class BadRow:
    table: str
    legacy_id: str
    reason: str


@dataclass(frozen=True)
class Remap:
    """A value read differently from how it was written (a synonym, an unknown status, a spelling)."""

    table: str
    legacy_id: str
    column: str
    found: str | None
    stored: str


@dataclass(frozen=True)
class MappedAgent:
    legacy_id: str
    name: str
    agent_type: str
    status: str
    capabilities: tuple[str, ...]
    system_prompt: str | None
    model_provider: str
    model_name: str
    created_at: dt.datetime | None
    updated_at: dt.datetime | None


@dataclass(frozen=True)
class MappedTask:
    legacy_id: str
    title: str
    description: str | None
    status: str
    priority: str
    assigned_agent_legacy_id: str | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None


@dataclass
class Mapped:
    """Rows of one table after mapping: the good ones, the bad ones and the remapped values."""

    rows: list[Any] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    remaps: list[Remap] = field(default_factory=list)


# --- reading the file ------------------------------------------------------------------------------------


class Phase1File:
    """A Phase 1 SQLite file opened read-only; `extra_columns` lists columns this importer does not read."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise Phase1FileError(f"{self.path}: no such file")
        try:
            self.connection = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
            self.connection.text_factory = _text_or_bytes
            columns = {table: self._columns(table) for table in TABLES}
        except sqlite3.DatabaseError as error:
            raise Phase1FileError(f"{self.path}: not a readable SQLite database ({error})") from None
        self.extra_columns: dict[str, list[str]] = {}
        for table, expected in TABLES.items():
            if not columns[table]:
                raise Phase1FileError(
                    f"{self.path}: no `{table}` table (a Phase 1 file has agents and tasks)"
                )
            missing = [column for column in expected if column not in columns[table]]
            if missing:
                raise Phase1FileError(f"{self.path}: table `{table}` lacks column(s) {', '.join(missing)}")
            self.extra_columns[table] = [column for column in columns[table] if column not in expected]

    def _columns(self, table: str) -> list[str]:
        return [row[1] for row in self.connection.execute(f'PRAGMA table_info("{table}")')]

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        columns = TABLES[table]
        select = ", ".join(f'"{column}"' for column in columns)
        for values in self.connection.execute(f'SELECT {select} FROM "{table}" ORDER BY rowid'):
            yield dict(zip(columns, values, strict=True))

    def close(self) -> None:
        self.connection.close()


def _text_or_bytes(raw: bytes) -> str | bytes:
    """TEXT that is not UTF-8 stays bytes, so the row is reported bad instead of the read failing."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


# --- value rules -------------------------------------------------------------------------------------------


def _text(value: Any, column: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        raise BadValue(f"{column} is not UTF-8 text")
    return str(value)  # an INTEGER or REAL stored in a TEXT column is read as its text


def legacy_id(value: Any) -> str:
    text = _text(value, "id")
    if text is None:
        raise BadValue("id is NULL")
    if not text.strip():
        raise BadValue("id is blank")
    if len(text) > LEGACY_ID_MAX_LENGTH:
        raise BadValue(f"id is longer than {LEGACY_ID_MAX_LENGTH} characters")
    return text


def shown_id(value: Any) -> str:
    """A legacy id as a report shows it, whatever it is."""
    if value is None:
        return "(NULL)"
    if isinstance(value, bytes):
        return repr(value)
    return str(value) if str(value).strip() else repr(str(value))


def _required_text(value: Any, column: str, max_length: int) -> str:
    text = _text(value, column)
    if text is None or not text.strip():
        raise BadValue(f"{column} is empty")
    if len(text) > max_length:
        raise BadValue(f"{column} is longer than {max_length} characters")
    return text


def _spelling(value: str) -> str:
    return value.strip().lower().replace("-", "_").replace(" ", "_")


def _choice(
    value: Any,
    column: str,
    *,
    choices: tuple[str, ...],
    synonyms: Mapping[str, str],
    default: str,
    unknown: str,
) -> tuple[str, bool]:
    """(stored value, whether it was remapped)."""
    text = _text(value, column)
    if text is None:
        return default, False
    if text in choices:
        return text, False
    read = _spelling(text)
    if read in choices:
        return read, True
    for spelling in (text.strip().lower(), read):
        if spelling in synonyms:
            return synonyms[spelling], True
    return unknown, True


def capabilities(value: Any) -> tuple[str, ...]:
    text = _text(value, "capabilities")
    if text is None or not text.strip():
        return ()
    try:
        parsed = json.loads(text)
    except ValueError as error:
        raise BadValue(f"capabilities is not valid JSON ({error.args[0].split(':')[0]})") from None
    if not isinstance(parsed, list):
        raise BadValue(f"capabilities is JSON {type(parsed).__name__}, not a list of names")
    names: dict[str, None] = {}
    for position, item in enumerate(parsed):
        if not isinstance(item, str) or not item.strip():
            raise BadValue(f"capabilities[{position}] is not a non-empty string")
        if len(item) > CAPABILITY_MAX_LENGTH:
            raise BadValue(f"capabilities[{position}] is longer than {CAPABILITY_MAX_LENGTH} characters")
        names.setdefault(item)
    return tuple(names)


def timestamp(value: Any, column: str) -> dt.datetime | None:
    text = _text(value, column)
    if text is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadValue(f"{column} {text!r} is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


# --- rows --------------------------------------------------------------------------------------------------


def map_agents(raw_rows: Iterator[dict[str, Any]]) -> Mapped:
    mapped = Mapped()
    for raw in raw_rows:
        try:
            key = legacy_id(raw["id"])
            agent_type = _text(raw["agent_type"], "agent_type")
            if agent_type is None or _spelling(agent_type) not in AGENT_TYPES:
                raise BadValue(f"agent_type {agent_type!r} is not one of {', '.join(AGENT_TYPES)}")
            status, status_remapped = _choice(
                raw["status"],
                "status",
                choices=AGENT_STATUSES,
                synonyms=AGENT_STATUS_SYNONYMS,
                default=DEFAULT_AGENT_STATUS,
                unknown=UNKNOWN_AGENT_STATUS,
            )
            agent = MappedAgent(
                legacy_id=key,
                name=_required_text(raw["name"], "name", NAME_MAX_LENGTH),
                agent_type=_spelling(agent_type),
                status=status,
                capabilities=capabilities(raw["capabilities"]),
                system_prompt=_text(raw["system_prompt"], "system_prompt"),
                model_provider=_text(raw["model_provider"], "model_provider") or DEFAULT_MODEL_PROVIDER,
                model_name=_text(raw["model_name"], "model_name") or DEFAULT_MODEL_NAME,
                created_at=timestamp(raw["created_at"], "created_at"),
                updated_at=timestamp(raw["updated_at"], "updated_at"),
            )
        except BadValue as error:
            mapped.bad.append(BadRow("agents", shown_id(raw["id"]), str(error)))
            continue
        if agent_type != agent.agent_type:
            mapped.remaps.append(Remap("agents", key, "agent_type", agent_type, agent.agent_type))
        if status_remapped:
            mapped.remaps.append(Remap("agents", key, "status", raw["status"], status))
        mapped.rows.append(agent)
    return mapped


def map_tasks(raw_rows: Iterator[dict[str, Any]], *, agents: set[str], bad_agents: set[str]) -> Mapped:
    """`agents`: legacy ids a task may point at (good rows of the file and agents imported before);
    `bad_agents`: ids of the file's bad agent rows (a task pointing at one is bad too)."""
    mapped = Mapped()
    for raw in raw_rows:
        try:
            key = legacy_id(raw["id"])
            assigned = _text(raw["assigned_agent_id"], "assigned_agent_id")
            if assigned is not None and assigned not in agents:
                if assigned in bad_agents:
                    raise BadValue(f"assigned agent {assigned!r} is a bad row (not imported)")
                raise BadValue(f"assigned agent {assigned!r} does not exist (orphan task)")
            status, status_remapped = _choice(
                raw["status"],
                "status",
                choices=TASK_STATUSES,
                synonyms=TASK_STATUS_SYNONYMS,
                default=DEFAULT_TASK_STATUS,
                unknown=UNKNOWN_TASK_STATUS,
            )
            priority, priority_remapped = _choice(
                raw["priority"],
                "priority",
                choices=TASK_PRIORITIES,
                synonyms=TASK_PRIORITY_SYNONYMS,
                default=DEFAULT_TASK_PRIORITY,
                unknown=UNKNOWN_TASK_PRIORITY,
            )
            task = MappedTask(
                legacy_id=key,
                title=_required_text(raw["title"], "title", TITLE_MAX_LENGTH),
                description=_text(raw["description"], "description"),
                status=status,
                priority=priority,
                assigned_agent_legacy_id=assigned,
                created_at=timestamp(raw["created_at"], "created_at"),
                updated_at=timestamp(raw["updated_at"], "updated_at"),
            )
        except BadValue as error:
            mapped.bad.append(BadRow("tasks", shown_id(raw["id"]), str(error)))
            continue
        if status_remapped:
            mapped.remaps.append(Remap("tasks", key, "status", raw["status"], status))
        if priority_remapped:
            mapped.remaps.append(Remap("tasks", key, "priority", raw["priority"], priority))
        mapped.rows.append(task)
    return mapped


def duplicate_ids(rows: list[Any]) -> set[str]:
    """Legacy ids found on more than one good row (a PRIMARY KEY makes it impossible; a copy without
    the constraint may not)."""
    seen: set[str] = set()
    repeated: set[str] = set()
    for row in rows:
        (repeated if row.legacy_id in seen else seen).add(row.legacy_id)
    return repeated


# --- the content checksum of the verification -------------------------------------------------------------


def _canonical(value: Any) -> str:
    if value is None:
        return "\x00"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, list | tuple):
        return json.dumps(list(value), ensure_ascii=False)
    return str(value)


def row_digest(values: tuple[Any, ...]) -> int:
    """One row's contribution to a table checksum (sha256 of its canonical values, as an integer)."""
    text = "\x1f".join(_canonical(value) for value in values)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest(), "big")


class TableChecksum:
    """Count and order-independent checksum of a set of rows: the sum of their digests mod 2**256, so
    both sides may read their rows in any order (PostgreSQL and SQLite sort text differently)."""

    MODULUS = 2**256

    def __init__(self) -> None:
        self.count = 0
        self.total = 0

    def add(self, values: tuple[Any, ...]) -> None:
        self.add_digests([row_digest(values)])

    def add_digests(self, digests: Iterable[int]) -> None:
        for digest in digests:
            self.count += 1
            self.total = (self.total + digest) % self.MODULUS

    @property
    def hexdigest(self) -> str:
        return f"{self.total:064x}"


def agent_checksum_values(agent: MappedAgent) -> tuple[Any, ...]:
    return (
        agent.legacy_id,
        agent.name,
        agent.agent_type,
        agent.status,
        agent.capabilities,
        agent.system_prompt,
        agent.model_provider,
        agent.model_name,
        agent.created_at,
        agent.updated_at,
    )


def task_checksum_values(task: MappedTask) -> tuple[Any, ...]:
    return (
        task.legacy_id,
        task.title,
        task.description,
        task.status,
        task.priority,
        task.assigned_agent_legacy_id,
        task.created_at,
        task.updated_at,
    )
