"""Rebuild every agent's performance snapshot from case assignments and reconcile each agent's load with
its open assignments (both set-based; see routing.metrics)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from routing.management import format_table
from routing.metrics import (
    DEFAULT_AGENT_BATCH,
    QUALITY_WINDOW_DAYS,
    availability_loads_reconcile,
    performance_recompute,
)


class Command(BaseCommand):
    help = (
        "Recompute AgentPerformance (counts, CSAT, rates, stress) for every agent from assignments, and set "
        "each agent's current load (and busy/available) to its open assignments."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--window-days",
            type=int,
            default=QUALITY_WINDOW_DAYS,
            help=f"Days of assignments behind CSAT, rates and resolution time (default {QUALITY_WINDOW_DAYS}).",
        )
        parser.add_argument(
            "--batch-agents",
            type=int,
            default=DEFAULT_AGENT_BATCH,
            help="Agents per UPDATE/transaction (default %(default)s).",
        )

    def handle(self, *args: object, **options: object) -> None:
        result = performance_recompute(
            quality_window_days=int(options["window_days"]), batch_size=int(options["batch_agents"])
        )
        loads = availability_loads_reconcile(batch_size=int(options["batch_agents"]))
        self.stdout.write(
            format_table(
                ["snapshots created", "snapshots updated", "batches", "seconds"],
                [[result.created, result.updated, result.batches, round(result.seconds, 3)]],
            )
        )
        self.stdout.write(
            format_table(
                ["loads corrected", "statuses adjusted", "seconds"],
                [[loads.corrected, loads.statuses, round(loads.seconds, 3)]],
            )
        )
