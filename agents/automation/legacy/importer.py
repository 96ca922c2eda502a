"""Import a Phase 1 SQLite file into the Phase 2 tables (manage.py import_legacy_platform), keeping every
link, and verify it.

What the seed's own script lost and this keeps: every legacy id maps to a new UUID *and* is stored
(`legacy_id`, unique), so each task is linked to its agent through that id, whether the agent is in the
same file or came in an earlier run; and a second run finds the rows it wrote and adds nothing.

Steps, all in one transaction (nothing is written when the import stops):
1. read and map both tables (agents.automation.legacy.phase1 holds every rule);
2. bad rows: by default any bad row stops the import before anything is written (all-or-nothing); with
   `skip_invalid` the good rows are imported and the bad ones listed;
3. write, in batches (COPY on PostgreSQL, bulk_create on SQLite): new agents (legacy ids not imported
   before), their capability rows, new tasks (agents looked up by legacy id, in this file or already
   imported);
4. the seed's validation, done properly: per table (agents, capabilities, tasks) the source count and a
   content checksum over the mapped columns computed from the file, and the same computed from the
   database rows with those legacy ids (a task's agent by its legacy id: the link is in the checksum);
5. `dry_run` rolls everything back after the validation, so a dry run shows exactly what a real run
   would write and verify.
Rows already imported are never rewritten: if they changed since (an agent's status moved on), the
validation says so for that table rather than hiding it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import Model
from django.utils import timezone

from agents.automation.legacy.phase1 import (
    BadRow,
    Mapped,
    MappedAgent,
    MappedTask,
    Phase1File,
    Remap,
    TableChecksum,
    agent_checksum_values,
    duplicate_ids,
    map_agents,
    map_tasks,
    row_digest,
    task_checksum_values,
)
from agents.models import AgentCapability, AgentTask, AutomatedAgent

WRITE_BATCH = 2000
LOOKUP_BATCH = 900  # ids per IN (...) lookup: far below SQLite's variable limit


@dataclass(frozen=True)
class TableVerification:
    table: str
    source_count: int
    target_count: int
    source_checksum: str
    target_checksum: str
    differing: tuple[str, ...] = ()  # a few legacy ids whose rows differ or are missing on one side

    @property
    def ok(self) -> bool:
        return self.source_count == self.target_count and self.source_checksum == self.target_checksum


@dataclass
class ImportReport:
    path: str
    dry_run: bool
    skip_invalid: bool
    read: dict[str, int] = field(default_factory=dict)
    bad_rows: list[BadRow] = field(default_factory=list)
    remaps: list[Remap] = field(default_factory=list)
    extra_columns: dict[str, list[str]] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)
    already_imported: dict[str, int] = field(default_factory=dict)
    verification: list[TableVerification] = field(default_factory=list)
    written: bool = False
    seconds: float = 0.0

    @property
    def refused(self) -> bool:
        """All-or-nothing and a bad row: nothing was written."""
        return bool(self.bad_rows) and not self.skip_invalid

    @property
    def verified(self) -> bool:
        return bool(self.verification) and all(table.ok for table in self.verification)

    @property
    def ok(self) -> bool:
        return not self.refused and self.verified


class _RollBack(Exception):
    """Leaves the import's transaction without committing (a dry run)."""


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert(model: type[Model], rows: list[Model]) -> None:
    """Insert new rows (primary keys already set): COPY on PostgreSQL, which is what makes a few hundred
    thousand tasks take seconds (the house's bulk path, as routing.history does), bulk_create elsewhere.
    Values go through each field's own conversion, as an INSERT's would."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(rows, batch_size=WRITE_BATCH)
        return
    database = connections[connection.alias]  # the wrapper itself, not the per-access proxy
    fields = [field for field in model._meta.concrete_fields if not getattr(field, "generated", False)]
    prepared = [(field.attname, field.get_db_prep_save) for field in fields]
    quote = database.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    with database.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            values = row.__dict__
            copy.write_row([prepare(values[attname], database) for attname, prepare in prepared])


def _existing(model: type, legacy_ids: Sequence[str]) -> dict[str, Any]:
    """legacy id -> primary key of the rows of `model` already imported with one of these ids."""
    found: dict[str, Any] = {}
    for chunk in _chunks(list(legacy_ids), LOOKUP_BATCH):
        found.update(model.objects.filter(legacy_id__in=chunk).values_list("legacy_id", "pk"))
    return found


def _drop_duplicates(mapped: Mapped, table: str) -> None:
    repeated = duplicate_ids(mapped.rows)
    if repeated:
        mapped.bad.extend(BadRow(table, key, "id appears on more than one row") for key in sorted(repeated))
        mapped.rows = [row for row in mapped.rows if row.legacy_id not in repeated]


def _write_agents(agents: list[MappedAgent], known: dict[str, Any], now: Any) -> tuple[int, int]:
    new = [agent for agent in agents if agent.legacy_id not in known]
    for chunk in _chunks(new, WRITE_BATCH):
        rows = [
            AutomatedAgent(
                legacy_id=agent.legacy_id,
                name=agent.name,
                agent_type=agent.agent_type,
                status=agent.status,
                capabilities=list(agent.capabilities),
                system_prompt=agent.system_prompt,
                model_provider=agent.model_provider,
                model_name=agent.model_name,
                created_at=agent.created_at,
                updated_at=agent.updated_at,
            )
            for agent in chunk
        ]
        _insert(AutomatedAgent, rows)
        known.update((row.legacy_id, row.pk) for row in rows)
    capability_rows = [
        AgentCapability(agent_id=known[agent.legacy_id], capability_name=name, created_at=now)
        for agent in new
        for name in agent.capabilities
    ]
    for chunk in _chunks(capability_rows, WRITE_BATCH):
        _insert(AgentCapability, list(chunk))
    return len(new), len(capability_rows)


def _write_tasks(tasks: list[MappedTask], agent_pks: dict[str, Any]) -> tuple[int, int]:
    known = _existing(AgentTask, [task.legacy_id for task in tasks])
    new = [task for task in tasks if task.legacy_id not in known]
    for chunk in _chunks(new, WRITE_BATCH):
        _insert(
            AgentTask,
            [
                AgentTask(
                    legacy_id=task.legacy_id,
                    title=task.title,
                    description=task.description,
                    status=task.status,
                    priority=task.priority,
                    assigned_agent_id=agent_pks[task.assigned_agent_legacy_id]
                    if task.assigned_agent_legacy_id
                    else None,
                    created_at=task.created_at,
                    updated_at=task.updated_at,
                )
                for task in chunk
            ],
        )
    return len(new), len(known)


DIFFERING_SHOWN = 5


def _side(rows: Iterable[tuple[Any, ...]], *, key_length: int = 1) -> dict[tuple[Any, ...], int]:
    """Row key (its first `key_length` values: the legacy id, and the name for a capability) -> digest."""
    return {row[:key_length]: row_digest(row) for row in rows}


def _compare(
    table: str, source: dict[tuple[Any, ...], int], target: dict[tuple[Any, ...], int]
) -> TableVerification:
    source_sum, target_sum = TableChecksum(), TableChecksum()
    source_sum.add_digests(source.values())
    target_sum.add_digests(target.values())
    differing = sorted(
        "/".join(map(str, key)) for key in source.keys() | target.keys() if source.get(key) != target.get(key)
    )
    return TableVerification(
        table=table,
        source_count=len(source),
        target_count=len(target),
        source_checksum=source_sum.hexdigest,
        target_checksum=target_sum.hexdigest,
        differing=tuple(differing[:DIFFERING_SHOWN]),
    )


def _verify(agents: list[MappedAgent], tasks: list[MappedTask]) -> list[TableVerification]:
    source_agents = _side(agent_checksum_values(agent) for agent in agents)
    source_capabilities = _side(
        ((agent.legacy_id, name) for agent in agents for name in agent.capabilities), key_length=2
    )
    source_tasks = _side(task_checksum_values(task) for task in tasks)

    target_agents: dict[tuple[Any, ...], int] = {}
    target_capabilities: dict[tuple[Any, ...], int] = {}
    target_tasks: dict[tuple[Any, ...], int] = {}
    for chunk in _chunks([agent.legacy_id for agent in agents], LOOKUP_BATCH):
        target_agents.update(
            _side(
                AutomatedAgent.objects.filter(legacy_id__in=chunk).values_list(
                    "legacy_id",
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
            )
        )
        target_capabilities.update(
            _side(
                AgentCapability.objects.filter(agent__legacy_id__in=chunk).values_list(
                    "agent__legacy_id", "capability_name"
                ),
                key_length=2,
            )
        )
    for chunk in _chunks([task.legacy_id for task in tasks], LOOKUP_BATCH):
        target_tasks.update(
            _side(
                AgentTask.objects.filter(legacy_id__in=chunk).values_list(
                    "legacy_id",
                    "title",
                    "description",
                    "status",
                    "priority",
                    "assigned_agent__legacy_id",
                    "created_at",
                    "updated_at",
                )
            )
        )
    return [
        _compare("agents", source_agents, target_agents),
        _compare("agent_capabilities", source_capabilities, target_capabilities),
        _compare("tasks", source_tasks, target_tasks),
    ]


def legacy_import(*, path: str | Path, dry_run: bool = False, skip_invalid: bool = False) -> ImportReport:
    """Import the Phase 1 file at `path` (see the module docstring). Raises Phase1FileError when the
    file is not a Phase 1 database; every other problem is in the report."""
    started = time.perf_counter()
    report = ImportReport(path=str(path), dry_run=dry_run, skip_invalid=skip_invalid)
    source = Phase1File(path)
    try:
        report.extra_columns = {table: cols for table, cols in source.extra_columns.items() if cols}
        agents = map_agents(source.rows("agents"))
        _drop_duplicates(agents, "agents")
        raw_tasks = list(source.rows("tasks"))
    finally:
        source.close()
    report.read = {"agents": len(agents.rows) + len(agents.bad), "tasks": len(raw_tasks)}
    try:
        with transaction.atomic():
            good_agent_ids = {agent.legacy_id for agent in agents.rows}
            bad_agent_ids = {row.legacy_id for row in agents.bad} - good_agent_ids
            referenced = {
                str(raw["assigned_agent_id"]) for raw in raw_tasks if raw["assigned_agent_id"] is not None
            }
            imported_before = _existing(AutomatedAgent, sorted(referenced - good_agent_ids))
            tasks = map_tasks(
                iter(raw_tasks), agents=good_agent_ids | set(imported_before), bad_agents=bad_agent_ids
            )
            _drop_duplicates(tasks, "tasks")
            report.bad_rows = [*agents.bad, *tasks.bad]
            report.remaps = [*agents.remaps, *tasks.remaps]
            if report.refused:
                return report
            now = timezone.now()
            agent_pks = _existing(AutomatedAgent, sorted(good_agent_ids))
            already_agents = len(agent_pks)
            created_agents, created_capabilities = _write_agents(agents.rows, agent_pks, now)
            agent_pks.update(imported_before)
            created_tasks, already_tasks = _write_tasks(tasks.rows, agent_pks)
            report.created = {
                "agents": created_agents,
                "agent_capabilities": created_capabilities,
                "tasks": created_tasks,
            }
            report.already_imported = {"agents": already_agents, "tasks": already_tasks}
            report.verification = _verify(agents.rows, tasks.rows)
            report.written = not dry_run
            if dry_run or not report.verified:
                raise _RollBack
    except _RollBack:
        report.written = False
    finally:
        report.seconds = time.perf_counter() - started
    return report
