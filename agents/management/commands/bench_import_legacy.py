"""manage.py bench_import_legacy [--agents 10000] [--tasks 200000] [--repeat 3]

Times import_legacy_platform (agents.automation.legacy.importer, with --skip-invalid since the generated
file holds the edge cases' bad rows) on a generated Phase 1 file, interleaved with a floor: the same
file imported by hand, sqlite3 rows mapped in a tight loop (new UUIDs, capabilities JSON, ISO
timestamps) and written with psycopg COPY, then counted; no bad-row report, remaps or checksums.
Each run starts from a database without imported rows (the previous run's are deleted, untimed).
Meant for PostgreSQL (DATABASE_URL); prints p50/p95 of ours, of the floor and the ratio.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from agents.automation.legacy.importer import legacy_import
from agents.automation.legacy.samples import phase1_file_write
from agents.models import AgentCapability, AgentTask, AutomatedAgent


def _percentile(values: list[float], fraction: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[int(fraction * 100) - 1]


def _when(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    parsed = dt.datetime.fromisoformat(text.strip())
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed


class Command(BaseCommand):
    help = "Benchmark import_legacy_platform on a generated Phase 1 file against a hand-written COPY floor."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agents", type=int, default=10_000)
        parser.add_argument("--tasks", type=int, default=200_000)
        parser.add_argument("--repeat", type=int, default=3)
        parser.add_argument("--file", default=str(Path(settings.BASE_DIR) / "bench_phase1_agents.db"))

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            self.stderr.write("note: not PostgreSQL; the figures will not be the production ones")
        path = Path(options["file"])
        sample = phase1_file_write(path, agents=options["agents"], tasks=options["tasks"], seed=11)
        self.stdout.write(
            f"Phase 1 file {path}: {sample.agents} agents, {sample.tasks} tasks "
            f"({len(sample.bad)} bad rows among the edge cases)"
        )
        ours: list[float] = []
        floor: list[float] = []
        for run in range(1, options["repeat"] + 1):
            self._empty()
            started = time.perf_counter()
            report = legacy_import(path=path, skip_invalid=True)
            ours.append(time.perf_counter() - started)
            if not report.ok:
                raise CommandError("the import did not verify")
            self._empty()
            started = time.perf_counter()
            counts = self._floor(path)
            floor.append(time.perf_counter() - started)
            self.stdout.write(
                f"run {run}: ours {ours[-1]:6.2f} s ({sum(report.created.values())} rows)   "
                f"floor {floor[-1]:6.2f} s ({sum(counts)} rows)"
            )
        self._empty()
        rows = sample.tasks + sample.agents
        self.stdout.write(f"\n{rows} Phase 1 rows, {options['repeat']} runs each (seconds)")
        self.stdout.write(f"{'':<6} {'p50':>8} {'p95':>8}")
        self.stdout.write(f"{'ours':<6} {_percentile(ours, 0.5):>8.2f} {_percentile(ours, 0.95):>8.2f}")
        self.stdout.write(f"{'floor':<6} {_percentile(floor, 0.5):>8.2f} {_percentile(floor, 0.95):>8.2f}")
        self.stdout.write(f"ratio p50 {_percentile(ours, 0.5) / _percentile(floor, 0.5):.2f}x")

    def _empty(self) -> None:
        with transaction.atomic():
            AgentTask.objects.filter(legacy_id__isnull=False).delete()
            AgentCapability.objects.filter(agent__legacy_id__isnull=False).delete()
            AutomatedAgent.objects.filter(legacy_id__isnull=False).delete()

    def _floor(self, path: Path) -> tuple[int, int, int]:
        source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        agents: dict[str, uuid.UUID] = {}
        agent_rows, capability_rows, task_rows = [], [], []
        now = dt.datetime.now(dt.UTC)
        for (
            legacy_id,
            name,
            agent_type,
            status,
            caps,
            prompt,
            provider,
            model,
            created,
            updated,
        ) in source.execute(
            "SELECT id, name, agent_type, status, capabilities, system_prompt, model_provider, model_name, "
            "created_at, updated_at FROM agents"
        ):
            try:
                names = list(dict.fromkeys(json.loads(caps))) if caps and caps.strip() else []
                row = (
                    legacy_id,
                    name,
                    agent_type.strip().lower().replace(" ", "_").replace("-", "_"),
                    status or "idle",
                    json.dumps(names),
                    _when(created),
                    _when(updated),
                )
            except (ValueError, TypeError, AttributeError):
                continue
            if legacy_id is None or not name.strip() or row[2] not in ("chief_of_staff", "master_operator"):
                continue
            agents[legacy_id] = key = uuid.uuid4()
            agent_rows.append(
                (key, *row[:4], row[4], prompt, provider or "openrouter", model or "auto", *row[5:])
            )
            capability_rows.extend((uuid.uuid4(), key, capability, now) for capability in names)
        for legacy_id, title, description, status, priority, agent, created, updated in source.execute(
            "SELECT id, title, description, status, priority, assigned_agent_id, created_at, updated_at FROM tasks"
        ):
            if legacy_id is None or not title or (agent is not None and agent not in agents):
                continue
            try:
                task_rows.append(
                    (
                        uuid.uuid4(),
                        legacy_id,
                        title,
                        description,
                        status or "pending",
                        priority or "medium",
                        agents.get(agent),
                        _when(created),
                        _when(updated),
                    )
                )
            except ValueError:
                continue
        source.close()
        statuses = {"idle", "active", "busy", "error", "offline"}
        with transaction.atomic(), connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(
                "COPY agents_automatedagent (id, legacy_id, name, agent_type, status, capabilities, system_prompt, "
                "model_provider, model_name, created_at, updated_at, performance_metrics) FROM STDIN"
            ) as copy:
                for row in agent_rows:
                    status = row[4] if row[4] in statuses else "offline"
                    copy.write_row((*row[:4], status, *row[5:], "{}"))
            with raw.copy(
                "COPY agents_agentcapability (id, agent_id, capability_name, created_at) FROM STDIN"
            ) as copy:
                for row in capability_rows:
                    copy.write_row(row)
            with raw.copy(
                "COPY agents_agenttask (id, legacy_id, title, description, status, priority, assigned_agent_id, "
                "created_at, updated_at) FROM STDIN"
            ) as copy:
                tasks_statuses = {"pending", "in_progress", "completed", "failed", "cancelled"}
                priorities = {"low", "medium", "high", "urgent"}
                for row in task_rows:
                    copy.write_row(
                        (
                            *row[:4],
                            row[4] if row[4] in tasks_statuses else "pending",
                            row[5] if row[5] in priorities else "medium",
                            *row[6:],
                        )
                    )
        return (
            AutomatedAgent.objects.filter(legacy_id__isnull=False).count(),
            AgentCapability.objects.filter(agent__legacy_id__isnull=False).count(),
            AgentTask.objects.filter(legacy_id__isnull=False).count(),
        )
