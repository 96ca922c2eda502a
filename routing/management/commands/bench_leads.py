"""Benchmark lead routing at the issue's scale (PostgreSQL only; not a test).

Scale (loaded once, topped up idempotently; --reuse skips the top-up): 10,000 agents (bench_NNNNNN)
licensed for two insurance line/segment pairs each (proficiency 1-5, two or three territories, English
and some Spanish), all-day schedules, availability and period metrics; 100,000 routable leads
(blead_NNNNNNN, status new); 50 active routing rules (the default set topped up with bench rules of every
type, nested conditions); a running A/A experiment that every routed lead is drawn into; and a completed
experiment of three variants over 1,000,000 assigned leads (bexp_NNNNNNN, converted or lost) with
100,000 queue entries, some breached (the guardrail). Leads and assignments are written with COPY.

Then, with config.benchmark.interleaved (ours and the floor alternating, in one process):
- score and route one lead: routing.services.lead_route (rescore, the 50 rules, the experiment draw, the
  candidate search over 10,000 agents, the agent row lock, the load, the decision, the events, the
  history) against a floor doing the same reads and writes by hand with psycopg in one transaction;
  target p95 <= 20 ms;
- experiment results over 1,000,000 assignments: routing.services.experiment_results_for (the grouped
  aggregates and the pure statistics) against the same two aggregates written by hand; target <= 2 s.

Each run starts from the same floor: leads a previous run routed are closed (lost) and their agents'
loads reset, so reruns are comparable.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from agents.models import (
    AgentAvailability,
    AgentLanguage,
    AgentPeriodMetrics,
    AgentSchedule,
    AgentSpecialization,
    AvailabilityStatus,
    HumanAgent,
    LanguageProficiency,
    Weekday,
)
from config.benchmark import Measure, interleaved, report
from routing.engine.experiments import Arm, bucket, choose_arm, experiment_results
from routing.engine.lead_rules import evaluate_rules
from routing.history import bench_agents_ensure
from routing.models import (
    AssignmentQueue,
    ExperimentStatus,
    Lead,
    LeadExperimentAssignment,
    LeadRoutingHistory,
    RoutingDecision,
    RoutingEvent,
    RoutingExperiment,
    RoutingExperimentVariant,
    RoutingRule,
)
from routing.services.experiments import experiment_results_for
from routing.services.leads import lead_route, lead_score_compute, rule_facts

TARGETS_MS = {"route": 20.0, "results": 2000.0}
LINES = ["auto", "home", "life", "health", "commercial"]
SEGMENTS = ["consumer", "smb", "enterprise"]
TERRITORIES = ["US-CA", "US-NY", "US-TX", "US-FL", "US-IL", "US-WA", "US-MA", "US-GA"]
SOURCES = ["inbound_call", "web_form", "referral", "partner", "paid_ad", "event", "purchased_list"]
ZONES = ["UTC", "America/New_York", "America/Los_Angeles", "Europe/London"]
BATCH = 5_000
COPY_BATCH = 50_000
ROUTE_PREFIX, EXPERIMENT_PREFIX = "blead_", "bexp_"
RUNNING_EXPERIMENT, RESULTS_EXPERIMENT = "bench A/A routing", "bench strategies (completed)"

LEAD_COLUMNS = (
    "id",
    "external_id",
    "name",
    "phone",
    "email",
    "insurance_line",
    "customer_segment",
    "language",
    "territory",
    "source",
    "website_visits",
    "email_opens",
    "quote_requested",
    "callback_requested",
    "estimated_premium",
    "score",
    "tier",
    "score_breakdown",
    "scored_at",
    "status",
    "agent_id",
    "assigned_at",
    "last_contacted_at",
    "created_at",
    "updated_at",
)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]


def copy_rows(table: str, columns: Iterable[str], rows: Iterable[tuple]) -> None:
    """COPY FROM STDIN (psycopg) in the current transaction."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {quote(table)} ({', '.join(map(quote, columns))}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def bench_rules() -> list[dict[str, Any]]:
    """Rules of every type with nested conditions, rarely all firing at once (a realistic rule book)."""
    rules: list[dict[str, Any]] = []
    for n in range(60):
        line, segment = LINES[n % len(LINES)], SEGMENTS[n % len(SEGMENTS)]
        kind = n % 5
        if kind == 0:
            rule = {
                "rule_type": "set_priority",
                "condition": {
                    "all": [
                        {"field": "source", "op": "in", "value": SOURCES[n % 3 : n % 3 + 3]},
                        {"field": "website_visits", "op": "gte", "value": n % 7},
                    ]
                },
                "action": {"boost": (n % 9) - 4},
            }
        elif kind == 1:
            rule = {
                "rule_type": "assign_to_queue",
                "condition": {
                    "all": [
                        {"field": "insurance_line", "op": "eq", "value": line},
                        {"field": "estimated_premium", "op": "gt", "value": 20_000 + 100 * n},
                    ]
                },
                "action": {"queue_type": ["hot", "active"][n % 2]},
            }
        elif kind == 2:
            rule = {
                "rule_type": "require_specialization",
                "condition": {
                    "all": [
                        {"field": "customer_segment", "op": "eq", "value": segment},
                        {"field": "insurance_line", "op": "eq", "value": line},
                        {"not": {"field": "score", "op": "lt", "value": 20 + n % 30}},
                    ]
                },
                "action": {"min_proficiency": 2 + n % 2},
            }
        elif kind == 3:
            rule = {
                "rule_type": "route_to_agent_group",
                "condition": {
                    "any": [
                        {"field": "territory", "op": "eq", "value": f"US-ZZ{n}"},  # a territory no lead has
                        {"field": "email_opens", "op": "gt", "value": 1000 + n},
                    ]
                },
                "action": {"department": "Retention"},
            }
        else:
            rule = {
                "rule_type": "exclude_agent",
                "condition": {"field": "language", "op": "eq", "value": ["en", "es"][n % 2]},
                "action": {"agents": [f"bench_{9_000 + n:06d}"]},
            }
        rules.append({"name": f"bench rule {n:02d}", "priority": 500 - n, **rule})
    return rules


class Command(BaseCommand):
    help = "Benchmark lead routing (score and route one lead; experiment results over 1M assignments)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agents", type=int, default=10_000)
        parser.add_argument("--leads", type=int, default=100_000, help="Routable leads (status new).")
        parser.add_argument("--rules", type=int, default=50, help="Active routing rules.")
        parser.add_argument(
            "--assignments", type=int, default=1_000_000, help="Assigned leads of the results experiment."
        )
        parser.add_argument("--iterations", type=int, default=300, help="Timed routes (ours and floor).")
        parser.add_argument("--results-iterations", type=int, default=10, help="Timed results runs.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--reuse", action="store_true", help="Skip the data top-up; use what is there.")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_leads needs PostgreSQL (COPY and a psycopg floor).")
        self.rng = random.Random(options["seed"])
        iterations = options["iterations"]
        if not options["reuse"]:
            started = time.perf_counter()
            added = self.ensure_agents(options["agents"])
            added += self.ensure_rules(options["rules"])
            added += self.ensure_route_leads(options["leads"])
            added += self.ensure_results_experiment(options["assignments"])
            self.ensure_running_experiment()
            if added:
                self.analyze()
            self.stdout.write(f"data ready in {time.perf_counter() - started:.1f}s")
        self.reset_floor()
        self.print_scale()
        warmup = min(20, max(2, iterations // 10))
        leads = list(
            Lead.objects.filter(external_id__startswith=ROUTE_PREFIX, status="new")
            .order_by("?")
            .values_list("pk", flat=True)[: 2 * (iterations + warmup)]
        )
        if len(leads) < 2 * (iterations + warmup):
            raise CommandError(f"Only {len(leads)} new bench leads are left; rerun without --reuse.")
        ours_leads, floor_leads = leads[0::2], leads[1::2]
        floor = LeadFloor.build()
        measures: list[Measure] = []
        measures.append(
            interleaved(
                "score and route one lead",
                lambda i: lead_route(lead_id=ours_leads[i]),
                lambda i: floor.route(floor_leads[i]),
                iterations,
                warmup=warmup,
                target_ms=TARGETS_MS["route"],
                note="one transaction: the lead read and rescored, the active rules read and evaluated "
                "(the pure engine), their rule_fired events, the running experiment's variant drawn "
                "(sticky hash) and stored with its event, the 50 least-loaded eligible agents "
                "(specialization for line/segment/territory with the rules' proficiency, language, "
                "all-day schedule window, available with room) read, their tier conversion read, the "
                "first locked with SKIP LOCKED, its load raised, the lead assigned, the decision "
                "(50 candidates), routed event and history row inserted",
            )
        )
        experiment = RoutingExperiment.objects.get(name=RESULTS_EXPERIMENT)
        units = LeadExperimentAssignment.objects.filter(experiment=experiment).count()
        runs = options["results_iterations"]
        measures.append(
            interleaved(
                f"experiment results ({units:,} assignments)",
                lambda i: experiment_results_for(experiment),
                lambda i: floor.results(experiment.pk),
                runs,
                warmup=1,
                target_ms=TARGETS_MS["results"],
                note="the two grouped aggregates by hand (units, conversions and mean time to first "
                "contact per variant over the assignments joined to their leads; breached leads per "
                "variant over the queue entries), then the same pure statistics",
            )
        )
        self.stdout.write("")
        self.stdout.write(report(measures))
        routed = LeadRoutingHistory.objects.filter(lead_id__in=ours_leads).count()
        self.stdout.write(f"routed: {routed} of {len(ours_leads)} leads given to an agent (the rest queued).")

    # --- data ----------------------------------------------------------------------------------------

    def ensure_agents(self, count: int) -> int:
        started = time.perf_counter()
        created = bench_agents_ensure(count=count)
        bench = HumanAgent.objects.filter(code__startswith="bench_")
        if created:  # a quarter of the floor in Retention (the agent-group rules' department)
            bench.update(department="Sales")
            bench.annotate(bucket=F("id") % 4).filter(bucket=0).update(department="Retention")
        today = timezone.localdate()
        added = created
        without_specs = list(bench.filter(specializations__isnull=True).values_list("pk", flat=True))
        specs, languages, schedules, metrics = [], [], [], []
        pairs = [(line, segment) for line in LINES for segment in SEGMENTS]
        for agent_id in without_specs:
            speaks = ["en", "es"] if self.rng.random() < 0.3 else ["en"]
            for line, segment in self.rng.sample(pairs, 2):
                specs.append(
                    AgentSpecialization(
                        agent_id=agent_id,
                        specialization=f"{line}-{segment}",
                        insurance_line=line,
                        customer_segment=segment,
                        proficiency=self.rng.randint(1, 5),
                        languages=speaks,
                        territories=self.rng.sample(TERRITORIES, self.rng.choice([2, 3])),
                    )
                )
            for code in speaks:
                languages.append(
                    AgentLanguage(
                        agent_id=agent_id, language_code=code, proficiency=LanguageProficiency.NATIVE
                    )
                )
            zone = ZONES[agent_id % len(ZONES)]
            for day in Weekday.values:
                schedules.append(
                    AgentSchedule(
                        agent_id=agent_id,
                        day_of_week=day,
                        start_time=dt.time(0, 0),
                        end_time=dt.time(0, 0),
                        timezone=zone,
                        effective_from=today - dt.timedelta(days=365),
                    )
                )
            metrics.append(
                AgentPeriodMetrics(
                    agent_id=agent_id,
                    period_date=today - dt.timedelta(days=1),
                    conversion_rate_hot=round(self.rng.uniform(0.1, 0.6), 4),
                    conversion_rate_warm=round(self.rng.uniform(0.05, 0.4), 4),
                    conversion_rate_cold=round(self.rng.uniform(0.01, 0.2), 4),
                )
            )
        for model, rows in (
            (AgentSpecialization, specs),
            (AgentLanguage, languages),
            (AgentSchedule, schedules),
            (AgentPeriodMetrics, metrics),
        ):
            for chunk in _chunks(rows, BATCH):
                with transaction.atomic():
                    model.objects.bulk_create(chunk, ignore_conflicts=model is AgentPeriodMetrics)
            added += len(rows)
        self.stdout.write(
            f"agents: +{created} agents, +{len(specs)} specializations, +{len(schedules)} schedules "
            f"({time.perf_counter() - started:.1f}s)"
        )
        return added

    def ensure_rules(self, count: int) -> int:
        active = RoutingRule.objects.filter(is_active=True).count()
        missing = count - active
        if missing <= 0:
            return 0
        taken = set(RoutingRule.objects.values_list("name", flat=True))
        fresh = [rule for rule in bench_rules() if rule["name"] not in taken][:missing]
        for rule in fresh:
            RoutingRule(**rule).full_clean()
        RoutingRule.objects.bulk_create(RoutingRule(**rule) for rule in fresh)
        self.stdout.write(f"rules: +{len(fresh)} (active now {active + len(fresh)})")
        return len(fresh)

    def _lead_row(self, external_id: str, now: dt.datetime, *, status: str, age_minutes: float) -> tuple:
        created = now - dt.timedelta(minutes=age_minutes)
        visits, opens = self.rng.randint(0, 12), self.rng.randint(0, 8)
        quote, callback = self.rng.random() < 0.3, self.rng.random() < 0.1
        premium = round(self.rng.uniform(500, 30_000), 2)
        contacted = created + dt.timedelta(minutes=self.rng.uniform(2, 240)) if status != "new" else None
        return (
            uuid.uuid4(),
            external_id,
            f"Bench Lead {external_id[-7:]}",
            "+15550000000",
            "",
            self.rng.choice(LINES),
            self.rng.choice(SEGMENTS),
            "es" if self.rng.random() < 0.2 else "en",
            self.rng.choice(TERRITORIES),
            self.rng.choice(SOURCES),
            visits,
            opens,
            quote,
            callback,
            premium,
            None,
            "",
            "{}",
            None,
            status,
            None,
            None,
            contacted,
            created,
            now,
        )

    def _copy_leads(
        self, prefix: str, start: int, count: int, *, status_of: Any, age: Any
    ) -> list[uuid.UUID]:
        now = timezone.now()
        ids: list[uuid.UUID] = []
        for offset in range(0, count, COPY_BATCH):
            rows = []
            for n in range(start + offset, start + min(offset + COPY_BATCH, count)):
                row = self._lead_row(f"{prefix}{n:07d}", now, status=status_of(n), age_minutes=age(n))
                rows.append(row)
                ids.append(row[0])
            with transaction.atomic():
                copy_rows(Lead._meta.db_table, LEAD_COLUMNS, rows)
        return ids

    def ensure_route_leads(self, count: int) -> int:
        present = Lead.objects.filter(external_id__startswith=ROUTE_PREFIX).count()
        missing = count - present
        if missing <= 0:
            return 0
        started = time.perf_counter()
        self._copy_leads(
            ROUTE_PREFIX, present, missing, status_of=lambda n: "new", age=lambda n: self.rng.uniform(0, 120)
        )
        self.stdout.write(f"leads: +{missing} routable ({time.perf_counter() - started:.1f}s)")
        return missing

    def ensure_results_experiment(self, assignments: int) -> int:
        experiment = RoutingExperiment.objects.filter(name=RESULTS_EXPERIMENT).first()
        if experiment is None:
            now = timezone.now()
            experiment = RoutingExperiment.objects.create(
                name=RESULTS_EXPERIMENT,
                status=ExperimentStatus.COMPLETED,
                start_at=now - dt.timedelta(days=30),
                end_at=now - dt.timedelta(days=1),
                guardrail_metrics=["sla_breach_rate", "time_to_first_contact"],
            )
            for position, (name, strategy, share, control) in enumerate(
                [
                    ("lead fit (control)", "lead_fit", "34", True),
                    ("least busy", "least_busy", "33", False),
                    ("performance", "performance_based", "33", False),
                ]
            ):
                RoutingExperimentVariant.objects.create(
                    experiment=experiment,
                    name=name,
                    strategy=strategy,
                    allocation=share,
                    is_control=control,
                    position=position,
                )
        present = LeadExperimentAssignment.objects.filter(experiment=experiment).count()
        missing = assignments - present
        if missing <= 0:
            return 0
        started = time.perf_counter()
        variants = list(experiment.variants.order_by("position", "name"))
        arms = [Arm(str(v.pk), v.allocation, v.is_control) for v in variants]
        by_id = {str(v.pk): v for v in variants}
        conversion = {variants[0].pk: 0.12, variants[1].pk: 0.125, variants[2].pk: 0.135}
        now = timezone.now()
        done = 0
        for offset in range(0, missing, COPY_BATCH):
            size = min(COPY_BATCH, missing - offset)
            leads, picks, entries = [], [], []
            for n in range(present + offset, present + offset + size):
                lead_id = uuid.uuid4()
                position = bucket(experiment.pk, lead_id)
                variant = by_id[choose_arm(arms, position).variant_id]
                status = "converted" if self.rng.random() < conversion[variant.pk] else "lost"
                row = list(self._lead_row(f"{EXPERIMENT_PREFIX}{n:07d}", now, status=status, age_minutes=0))
                row[0] = lead_id
                row[23] = now - dt.timedelta(days=self.rng.uniform(1, 29))  # created during the experiment
                row[22] = row[23] + dt.timedelta(minutes=self.rng.uniform(1, 180))
                leads.append(tuple(row))
                picks.append((uuid.uuid4(), lead_id, experiment.pk, variant.pk, position, row[23]))
                if self.rng.random() < 0.1:
                    breached = self.rng.random() < 0.3
                    entries.append(
                        (
                            uuid.uuid4(),
                            lead_id,
                            "hot",
                            50,
                            row[23],
                            row[23] + dt.timedelta(minutes=5),
                            dt.timedelta(minutes=self.rng.uniform(1, 30)),
                            "escalated" if breached else "assigned",
                            breached,
                            "",
                            row[23] + dt.timedelta(minutes=10),
                            "{}",
                            "lead_fit",
                            "{}",
                        )
                    )
            with transaction.atomic():
                copy_rows(Lead._meta.db_table, LEAD_COLUMNS, leads)
                copy_rows(
                    LeadExperimentAssignment._meta.db_table,
                    ("id", "lead_id", "experiment_id", "variant_id", "bucket", "assigned_at"),
                    picks,
                )
                copy_rows(
                    AssignmentQueue._meta.db_table,
                    (
                        "id",
                        "lead_id",
                        "queue_type",
                        "lead_score",
                        "queued_at",
                        "sla_expiry",
                        "time_in_queue",
                        "status",
                        "sla_breached",
                        "escalated_from",
                        "left_at",
                        "requirements",
                        "routing_strategy",
                        "strategy_parameters",
                    ),
                    entries,
                )
            done += size
            self.stdout.write(f"  experiment leads {present + done}/{assignments}", ending="\r")
        self.stdout.write(
            f"experiment: +{missing} assigned leads with their queue entries ({time.perf_counter() - started:.1f}s)"
        )
        return missing

    def ensure_running_experiment(self) -> None:
        if RoutingExperiment.objects.filter(status=ExperimentStatus.RUNNING).exists():
            return
        experiment = RoutingExperiment.objects.create(
            name=RUNNING_EXPERIMENT, status=ExperimentStatus.RUNNING, start_at=timezone.now()
        )
        RoutingExperimentVariant.objects.create(
            experiment=experiment, name="A", strategy="lead_fit", allocation=50, is_control=True, position=0
        )
        RoutingExperimentVariant.objects.create(
            experiment=experiment, name="B", strategy="lead_fit", allocation=50, position=1
        )

    @staticmethod
    def analyze() -> None:
        with connection.cursor() as cursor:
            for model in (
                Lead,
                LeadExperimentAssignment,
                AssignmentQueue,
                AgentSpecialization,
                AgentAvailability,
                AgentSchedule,
                AgentLanguage,
                AgentPeriodMetrics,
                HumanAgent,
            ):
                # VACUUM cannot run inside a transaction (a test's); ANALYZE alone can.
                verb = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
                cursor.execute(f"{verb} {connection.ops.quote_name(model._meta.db_table)}")

    def reset_floor(self) -> None:
        """Close what a previous run routed (lost, slot released) and reset every bench agent's load."""
        now = timezone.now()
        with transaction.atomic():
            routed = Lead.objects.filter(
                external_id__startswith=ROUTE_PREFIX, status__in=["assigned", "contacted", "queued"]
            )
            ids = list(routed.values_list("pk", flat=True))
            for chunk in _chunks(ids, BATCH):
                LeadRoutingHistory.objects.filter(lead_id__in=chunk, released_at__isnull=True).update(
                    released_at=now, conversion_outcome="lost", outcome_at=now
                )
                AssignmentQueue.objects.filter(lead_id__in=chunk, status="waiting").update(
                    status="cancelled", left_at=now
                )
                Lead.objects.filter(pk__in=chunk).update(status="lost")
            AgentAvailability.objects.filter(agent__code__startswith="bench_").update(
                current_load=0, status=AvailabilityStatus.AVAILABLE, manual_override=False, status_since=now
            )
        if ids:
            self.stdout.write(f"reset: {len(ids)} leads of earlier runs closed, bench agents' loads reset")

    def print_scale(self) -> None:
        self.stdout.write(
            f"scale: {HumanAgent.objects.filter(code__startswith='bench_').count()} agents, "
            f"{Lead.objects.filter(external_id__startswith=ROUTE_PREFIX, status='new').count()} routable "
            f"leads ({Lead.objects.count()} in all), "
            f"{RoutingRule.objects.filter(is_active=True).count()} active rules, "
            f"{LeadExperimentAssignment.objects.filter(experiment__name=RESULTS_EXPERIMENT).count()} "
            "assignments in the results experiment"
        )


class LeadFloor:
    """The floors: the same reads and writes written by hand on the same connection (psycopg)."""

    def __init__(self, sql: dict[str, str]) -> None:
        self.sql = sql

    @classmethod
    def build(cls) -> LeadFloor:
        q = connection.ops.quote_name
        t = {
            name: q(model._meta.db_table)
            for name, model in {
                "lead": Lead,
                "rule": RoutingRule,
                "experiment": RoutingExperiment,
                "variant": RoutingExperimentVariant,
                "assignment": LeadExperimentAssignment,
                "queue": AssignmentQueue,
                "history": LeadRoutingHistory,
                "decision": RoutingDecision,
                "event": RoutingEvent,
                "availability": AgentAvailability,
                "agent": HumanAgent,
                "spec": AgentSpecialization,
                "language": AgentLanguage,
                "schedule": AgentSchedule,
                "metrics": AgentPeriodMetrics,
            }.items()
        }
        sql = {
            "lead": f"SELECT * FROM {t['lead']} WHERE id = %s",
            "rules": (
                f"SELECT id, name, rule_type, condition, action, priority FROM {t['rule']} "
                "WHERE is_active ORDER BY priority DESC, name"
            ),
            "stored_assignment": f"SELECT variant_id FROM {t['assignment']} WHERE lead_id = %s",
            "running": (
                f"SELECT e.id, v.id, v.allocation, v.is_control, v.strategy FROM {t['experiment']} e "
                f"JOIN {t['variant']} v ON v.experiment_id = e.id WHERE e.status = 'running' "
                "ORDER BY v.position, v.name"
            ),
            "insert_assignment": (
                f"INSERT INTO {t['assignment']} (id, lead_id, experiment_id, variant_id, bucket, assigned_at) "
                "VALUES (gen_random_uuid(), %s, %s, %s, %s, %s)"
            ),
            "insert_event": (
                f"INSERT INTO {t['event']} (lead_id, event_type, data, created_at) VALUES (%s, %s, %s::jsonb, %s)"
            ),
            "waiting": f"SELECT id FROM {t['queue']} WHERE lead_id = %s AND status = 'waiting'",
            "pool": (
                f"SELECT a.agent_id FROM {t['availability']} a JOIN {t['agent']} h ON h.id = a.agent_id "
                "WHERE a.status = 'available' AND h.is_active AND a.current_load < h.max_concurrent_work "
                f"AND EXISTS (SELECT 1 FROM {t['spec']} sp WHERE sp.agent_id = a.agent_id "
                "AND sp.insurance_line = %s AND sp.customer_segment = %s AND sp.proficiency >= %s "
                "AND (jsonb_array_length(sp.territories) = 0 OR sp.territories @> jsonb_build_array(%s::text))) "
                f"AND EXISTS (SELECT 1 FROM {t['language']} l WHERE l.agent_id = a.agent_id AND l.language_code = %s) "
                f"AND EXISTS (SELECT 1 FROM {t['schedule']} s WHERE s.agent_id = a.agent_id AND s.day_of_week = %s "
                "AND s.start_time <= %s AND (s.end_time > %s OR s.end_time <= s.start_time)) "
                "ORDER BY a.current_load, a.last_assigned_at ASC NULLS FIRST LIMIT 50"
            ),
            "conversion": (
                f"SELECT DISTINCT ON (agent_id) agent_id, conversion_rate_hot, conversion_rate_warm, "
                f"conversion_rate_cold FROM {t['metrics']} WHERE agent_id = ANY(%s) "
                "ORDER BY agent_id, period_date DESC"
            ),
            "lock": (
                f"SELECT agent_id, current_load FROM {t['availability']} WHERE agent_id = %s "
                "AND status = 'available' FOR NO KEY UPDATE SKIP LOCKED"
            ),
            "lock_lead": f"SELECT id FROM {t['lead']} WHERE id = %s FOR NO KEY UPDATE",
            "raise_load": (
                f"UPDATE {t['availability']} SET current_load = current_load + 1, last_assigned_at = %s "
                "WHERE agent_id = %s"
            ),
            "assign_lead": (
                f"UPDATE {t['lead']} SET status = 'assigned', agent_id = %s, assigned_at = %s, score = %s, "
                "tier = %s, score_breakdown = %s::jsonb, scored_at = %s, updated_at = %s WHERE id = %s"
            ),
            "insert_decision": (
                f"INSERT INTO {t['decision']} (lead_id, strategy, strategy_parameters, outcome, candidates, "
                "candidate_count, prerank, reason, widen_level, duration_ms, created_at, winner_id) "
                "VALUES (%s, 'lead_fit', '{}', 'assigned', %s::jsonb, %s, '{}', 'floor', 0, 0, %s, %s) "
                "RETURNING id"
            ),
            "insert_history": (
                f"INSERT INTO {t['history']} (id, lead_id, assigned_agent_id, strategy, strategy_parameters, "
                "lead_score, lead_tier, assignment_reasons, assignment_factors, decision_id, routed_at, "
                "experiment_id, variant_id, conversion_outcome) VALUES (gen_random_uuid(), %s, %s, "
                "'lead_fit', '{}', %s, %s, %s::jsonb, %s::jsonb, %s, %s, %s, %s, '')"
            ),
            "results_units": (
                f"SELECT a.variant_id, COUNT(*), COUNT(*) FILTER (WHERE l.status = 'converted'), "
                f"AVG(l.last_contacted_at - l.created_at) FROM {t['assignment']} a JOIN {t['lead']} l "
                "ON l.id = a.lead_id WHERE a.experiment_id = %s GROUP BY a.variant_id"
            ),
            "results_breached": (
                f"SELECT a.variant_id, COUNT(DISTINCT q.lead_id) FROM {t['queue']} q JOIN {t['assignment']} a "
                "ON a.lead_id = q.lead_id WHERE q.sla_breached AND a.experiment_id = %s GROUP BY a.variant_id"
            ),
            "variants": (
                f"SELECT id, name, allocation, is_control FROM {t['variant']} WHERE experiment_id = %s "
                "ORDER BY position, name"
            ),
        }
        return cls(sql)

    def route(self, lead_id: Any) -> None:
        from routing.engine.experiments import VariantTotals  # noqa: F401  (imported once, warm)
        from routing.engine.lead_rules import RuleSpec

        sql = self.sql
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql["lead"], [lead_id])
            columns = [c.name for c in cursor.description]
            lead = Lead(**dict(zip(columns, cursor.fetchone(), strict=True)))
            scored = lead_score_compute(lead, now=now)
            lead.score, lead.tier = scored.score, scored.tier
            cursor.execute(sql["rules"])
            rules = [
                RuleSpec(str(r[0]), r[1], r[2], _json(r[3]), _json(r[4]), r[5]) for r in cursor.fetchall()
            ]
            outcome = evaluate_rules(rules, rule_facts(lead, now=now))
            for fired in outcome.fired:
                cursor.execute(
                    sql["insert_event"],
                    [lead_id, "rule_fired", json.dumps({"rule": fired["rule"]}), now],
                )
            cursor.execute(sql["stored_assignment"], [lead_id])
            cursor.fetchone()
            cursor.execute(sql["running"])
            variants = cursor.fetchall()
            variant_id = experiment_id = None
            if variants:
                experiment_id = variants[0][0]
                position = bucket(experiment_id, lead_id)
                arm = choose_arm([Arm(str(v[1]), v[2], v[3]) for v in variants], position)
                variant_id = uuid.UUID(arm.variant_id)
                cursor.execute(sql["insert_assignment"], [lead_id, experiment_id, variant_id, position, now])
                cursor.execute(sql["insert_event"], [lead_id, "experiment_assigned", "{}", now])
            cursor.execute(sql["waiting"], [lead_id])
            cursor.fetchall()
            spec = outcome.specialization
            local = now.astimezone(dt.UTC)
            moment = local.time().replace(tzinfo=None)
            cursor.execute(
                sql["pool"],
                [
                    spec.insurance_line if spec else lead.insurance_line,
                    spec.customer_segment if spec else lead.customer_segment,
                    spec.min_proficiency if spec else 1,
                    lead.territory,
                    lead.language,
                    Weekday.from_iso(local.isoweekday()).value,
                    moment,
                    moment,
                ],
            )
            pool = [row[0] for row in cursor.fetchall()]
            if pool:
                cursor.execute(sql["conversion"], [pool])
                cursor.fetchall()
            winner = None
            for agent_id in pool:
                cursor.execute(sql["lock"], [agent_id])
                if cursor.fetchone() is not None:
                    winner = agent_id
                    break
            if winner is None:
                return  # the service would queue the lead; the floor's leads find agents at this scale
            cursor.execute(sql["lock_lead"], [lead_id])
            cursor.execute(sql["raise_load"], [now, winner])
            breakdown = json.dumps(scored.breakdown)
            cursor.execute(
                sql["assign_lead"], [winner, now, scored.score, scored.tier, breakdown, now, now, lead_id]
            )
            candidates = json.dumps(
                [{"agent_id": a, "total": 0.5, "factors": {"specialization": 0.5}} for a in pool]
            )
            cursor.execute(sql["insert_decision"], [lead_id, candidates, len(pool), now, winner])
            decision_id = cursor.fetchone()[0]
            cursor.execute(sql["insert_event"], [lead_id, "routed", "{}", now])
            cursor.execute(
                sql["insert_history"],
                [
                    lead_id,
                    winner,
                    scored.score,
                    scored.tier,
                    json.dumps([{"rule": f["rule"]} for f in outcome.fired]),
                    candidates,
                    decision_id,
                    now,
                    experiment_id,
                    variant_id,
                ],
            )

    def results(self, experiment_id: Any) -> Any:
        from routing.engine.experiments import VariantTotals

        sql = self.sql
        with connection.cursor() as cursor:
            cursor.execute(sql["variants"], [experiment_id])
            variants = cursor.fetchall()
            cursor.execute(sql["results_units"], [experiment_id])
            counts = {row[0]: row for row in cursor.fetchall()}
            cursor.execute(sql["results_breached"], [experiment_id])
            breached = dict(cursor.fetchall())
        totals = []
        for variant_id, name, allocation, is_control in variants:
            row = counts.get(variant_id, (variant_id, 0, 0, None))
            units = row[1]
            totals.append(
                VariantTotals(
                    variant_id=str(variant_id),
                    name=name,
                    allocation=allocation,
                    is_control=is_control,
                    units=units,
                    conversions=row[2],
                    guardrails={
                        "sla_breach_rate": breached.get(variant_id, 0) / units if units else None,
                        "time_to_first_contact_seconds": row[3].total_seconds() if row[3] else None,
                    },
                )
            )
        return experiment_results(totals)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
