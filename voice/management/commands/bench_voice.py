"""Benchmark the voice pipeline's hot paths and retention on PostgreSQL, each against a raw-SQL floor.

Scale (the issue's): 500 organizations with 4 locations each, 5,000 agent configurations (10 per
organization: 6 organization-wide versions, the last active, and an override per location, half of
them active) and 50,000 knowledge facts (100 per organization, 2-4 tags from 30, a fifth of them
location facts); retention over 1,000,000 turns (100,000 calls of 10 turns and 2 events, started
uniformly over the last three years, a tenth of them failed).

Hot paths, timed interleaved with their floor in the same loop (the order alternating per iteration):
- config lookup: voice.selectors.config_active for a random organization and location, against the
  same query written by hand (psycopg on the same connection, no ORM);
- knowledge lookup: voice.selectors.knowledge_lookup (a category, and two thirds of the time tags,
  one third a text query; top 5), against the hand-written SQL with the same filters and order;
- and the same two through the API: GET requests through the test client as the voice platform's
  integration user (staff in every organization, a token; each request authenticates, loads the
  user's permissions and its membership, as in production), against the same floor, to show what a
  request adds.

Retention: `--retention-rounds` rounds; each loads the 1,000,000-turn dataset afresh (COPY) and runs
either voice.services.retention.retention_run (batched, one transaction per batch) or the floor (the
same steps as plain set-based statements in one transaction), alternating. It prints the total time
and the time per 100,000 turns of the dataset, and checks both removed the same rows.

Data of earlier runs is reused (organizations `bench-voice-*`); the retention dataset only ever
touches calls of those organizations. Run it on a database of its own (make bench does).
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from routing.management import format_table
from voice.access import caller_for_organization
from voice.models import AgentConfig, KnowledgeCategory, KnowledgeEntry, Location, Membership, Organization
from voice.models.common import SEARCH_CONFIG
from voice.selectors import config_active, knowledge_lookup
from voice.services.retention import Cutoffs, RetentionPeriods, retention_run
from voice.services.tenancy import membership_groups_sync

PREFIX = "bench-voice-"
TARGET_MS = 5.0
TAGS = [
    "hours", "parking", "insurance", "billing", "cancellation", "fees", "emergency", "walk-in", "pricing",
    "directions", "holiday", "saturday", "new-patient", "forms", "wifi", "waiting", "accessibility", "covid",
    "payment", "refund", "warranty", "booking", "reschedule", "contact", "email", "language", "children",
    "pets", "weekend", "evening",
]  # fmt: skip
TOPICS = [
    "parking garage", "opening hours", "insurance plans", "cancellation fee", "emergency visits",
    "walk in appointments", "payment methods", "refund policy", "holiday closures", "wheelchair access",
    "children appointments", "evening hours", "weekend service", "warranty terms", "new patient forms",
]  # fmt: skip
WORDS = [
    "please",
    "call",
    "ahead",
    "our",
    "team",
    "will",
    "help",
    "you",
    "book",
    "the",
    "earliest",
    "slot",
    "we",
    "accept",
    "cards",
    "cash",
    "and",
    "insurance",
    "the",
    "office",
    "is",
    "closed",
    "on",
    "public",
    "holidays",
    "free",
    "parking",
    "behind",
    "the",
    "building",
    "bring",
    "your",
    "card",
    "arrive",
    "early",
    "we",
    "speak",
    "english",
    "and",
    "spanish",
    "wifi",
    "is",
    "available",
    "in",
    "the",
    "waiting",
    "room",
    "a",
    "fee",
    "applies",
    "to",
    "late",
    "changes",
]
QUERIES = [
    "parking",
    "cancellation fee",
    "insurance",
    '"opening hours"',
    "holiday or weekend",
    "payment -cash",
]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


class Command(BaseCommand):
    help = "Time the voice config and knowledge lookups and retention at the issue's scale, against raw SQL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organizations", type=int, default=500)
        parser.add_argument("--configs", type=int, default=5_000)
        parser.add_argument("--facts", type=int, default=50_000)
        parser.add_argument("--turns", type=int, default=1_000_000)
        parser.add_argument("--iterations", type=int, default=2_000, help="Timed lookups of each kind.")
        parser.add_argument("--retention-rounds", type=int, default=2, help="Runs of ours and of the floor.")
        parser.add_argument("--skip-retention", action="store_true")
        parser.add_argument("--skip-lookups", action="store_true")
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(f"bench_voice measures PostgreSQL; this database is {connection.vendor}.")
        self.rng = random.Random(options["seed"])
        began = time.perf_counter()
        organizations = self._ensure_tenants(
            count=options["organizations"], configs=options["configs"], facts=options["facts"]
        )
        self.stdout.write(f"Tenant data ready in {time.perf_counter() - began:.1f} s.")
        self._analyze()
        if not options["skip_lookups"]:
            self._lookups(organizations, iterations=options["iterations"])
        if not options["skip_retention"]:
            self._retention(organizations, turns=options["turns"], rounds=options["retention_rounds"])

    # --- tenants, configurations, facts -------------------------------------------------------------

    def _ensure_tenants(self, *, count: int, configs: int, facts: int) -> list[Organization]:
        existing = Organization.objects.filter(slug__startswith=PREFIX).count()
        if existing < count:
            with transaction.atomic():
                Organization.objects.bulk_create(
                    [
                        Organization(name=f"Bench Voice {n:04d}", slug=f"{PREFIX}{n:04d}")
                        for n in range(existing, count)
                    ]
                )
        organizations = list(Organization.objects.filter(slug__startswith=PREFIX).order_by("slug")[:count])
        ids = [org.pk for org in organizations]
        # Top up what is missing, organization by organization (earlier runs' rows are kept).
        have = dict(
            Location.objects.filter(organization_id__in=ids)
            .values("organization_id")
            .annotate(n=Count("pk"))
            .values_list("organization_id", "n")
        )
        with transaction.atomic():
            Location.objects.bulk_create(
                [
                    Location(
                        organization=org,
                        name=f"Branch {b}",
                        street=f"{b} Main St",
                        city="Springfield",
                        country="US",
                        time_zone="America/Chicago",
                    )
                    for org in organizations
                    for b in range(have.get(org.pk, 0) + 1, 5)
                ]
            )
        locations: dict[int, list[int]] = {}
        for org_id, location_id in Location.objects.filter(organization_id__in=ids).values_list(
            "organization_id", "pk"
        ):
            locations.setdefault(org_id, []).append(location_id)
        self.locations = locations
        with_configs = set(
            AgentConfig.objects.filter(organization_id__in=ids).values_list("organization_id", flat=True)
        )
        missing = [org for org in organizations if org.pk not in with_configs]
        if missing:
            self._load_configs(missing, max(1, configs // count))
        with_facts = set(
            KnowledgeEntry.objects.filter(organization_id__in=ids).values_list("organization_id", flat=True)
        )
        missing = [org for org in organizations if org.pk not in with_facts]
        if missing:
            self._load_facts(missing, max(1, facts // count))
        self.stdout.write(
            f"Scale: {len(organizations)} organizations, {sum(map(len, locations.values()))} locations, "
            f"{AgentConfig.objects.filter(organization_id__in=ids).count()} configurations, "
            f"{KnowledgeEntry.objects.filter(organization_id__in=ids).count()} facts."
        )
        return organizations

    def _load_configs(self, organizations: list[Organization], per_org: int) -> None:
        started = time.perf_counter()
        with transaction.atomic():
            rows = []
            for org in organizations:
                branches = self.locations[org.pk]
                overrides = min(len(branches), max(0, per_org - 1), per_org // 2)
                org_wide = per_org - overrides
                for version in range(1, org_wide + 1):
                    rows.append(
                        AgentConfig(
                            organization=org,
                            version=version,
                            policies={"escalation_policy": {"max_failed_attempts": 1 + version % 5}},
                            script_overrides={"greeting": f"Hello from version {version}"},
                            is_active=version == org_wide,
                        )
                    )
                for index, location_id in enumerate(branches[:overrides]):
                    rows.append(
                        AgentConfig(
                            organization=org,
                            location_id=location_id,
                            version=org_wide + index + 1,
                            policies={"business_rules": {"allow_same_day_booking": True}},
                            script_overrides={"greeting": f"Branch {index + 1}"},
                            is_active=index % 2 == 0,
                        )
                    )
            AgentConfig.objects.bulk_create(rows, batch_size=2_000)
        self.stdout.write(f"  loaded {len(rows)} configurations in {time.perf_counter() - started:.1f} s")

    def _load_facts(self, organizations: list[Organization], per_org: int) -> None:
        started = time.perf_counter()
        rng = self.rng
        categories = KnowledgeCategory.values
        with transaction.atomic():
            batch: list[KnowledgeEntry] = []
            total = 0
            for org in organizations:
                for n in range(per_org):
                    topic = rng.choice(TOPICS)
                    batch.append(
                        KnowledgeEntry(
                            organization=org,
                            location_id=rng.choice(self.locations[org.pk]) if rng.random() < 0.2 else None,
                            category=categories[n % len(categories)],
                            title=f"{topic.capitalize()} ({n})",
                            content=f"About {topic}: " + " ".join(rng.choices(WORDS, k=rng.randint(20, 40))),
                            tags=rng.sample(TAGS, rng.randint(2, 4)),
                            priority=rng.randint(0, 100),
                            is_active=rng.random() < 0.9,
                        )
                    )
                if len(batch) >= 5_000:
                    KnowledgeEntry.objects.bulk_create(batch)
                    total += len(batch)
                    batch = []
            KnowledgeEntry.objects.bulk_create(batch)
            total += len(batch)
        self.stdout.write(f"  loaded {total} facts in {time.perf_counter() - started:.1f} s")

    def _analyze(self) -> None:
        with connection.cursor() as cursor:
            for table in (
                "voice_organization",
                "voice_location",
                "voice_agentconfig",
                "voice_knowledgeentry",
            ):
                cursor.execute(f"VACUUM ANALYZE {table}")

    # --- lookups ---------------------------------------------------------------------------------------

    CONFIG_FLOOR = (
        "SELECT c.id, c.organization_id, c.location_id, c.version, c.policies, c.script_overrides, c.notes, "
        "c.is_active, c.created_by_id, c.created_at, c.activated_at, "
        "EXISTS (SELECT 1 FROM voice_location l WHERE l.id = %(location)s AND l.organization_id = %(org)s) "
        "FROM voice_agentconfig c WHERE c.organization_id = %(org)s AND c.is_active "
        "AND (c.location_id = %(location)s OR c.location_id IS NULL) "
        "ORDER BY c.location_id NULLS LAST LIMIT 1"
    )

    def _knowledge_floor_sql(self, *, tags: bool, text: bool) -> str:
        query = f"websearch_to_tsquery('{SEARCH_CONFIG}', %(q)s)"
        where = [
            "organization_id = %(org)s",
            "is_active",
            "category = %(category)s",
            "(location_id IS NULL OR location_id = %(location)s)",
        ]
        if tags:
            where.append("tags ?| %(tags)s::text[]")
        if text:
            where.append(f"search_vector @@ {query}")
        order = ["priority DESC"]
        if text:
            order.append(f"ts_rank(search_vector, {query}) DESC")
        order += ["updated_at DESC", "id DESC"]
        return (
            "SELECT id, organization_id, location_id, category, title, content, tags, priority, updated_at "
            f"FROM voice_knowledgeentry WHERE {' AND '.join(where)} ORDER BY {', '.join(order)} LIMIT 5"
        )

    def _lookups(self, organizations: list[Organization], *, iterations: int) -> None:
        rng = self.rng
        callers = {org.pk: caller_for_organization(org) for org in organizations}
        raw = connection.connection  # the psycopg connection under Django's: the floor skips the ORM

        def config_case() -> dict[str, Any]:
            org = rng.choice(organizations)
            return {"org": org.pk, "location": rng.choice(self.locations[org.pk]), "slug": org.slug}

        def knowledge_case() -> dict[str, Any]:
            org = rng.choice(organizations)
            kind = rng.randrange(3)
            return {
                "org": org.pk,
                "slug": org.slug,
                "location": rng.choice(self.locations[org.pk]),
                "category": rng.choice(KnowledgeCategory.values),
                "tags": rng.sample(TAGS, 2) if kind != 2 else [],
                "q": rng.choice(QUERIES) if kind == 2 else "",
            }

        def config_ours(case: dict[str, Any]) -> Any:
            return config_active(caller=callers[case["org"]], location_id=case["location"])

        def config_floor(case: dict[str, Any]) -> Any:
            with raw.cursor() as cursor:
                cursor.execute(self.CONFIG_FLOOR, case)
                return cursor.fetchall()

        def knowledge_ours(case: dict[str, Any]) -> Any:
            return knowledge_lookup(
                caller=callers[case["org"]],
                category=case["category"],
                tags=case["tags"],
                query=case["q"],
                location_id=case["location"],
                limit=5,
            )

        def knowledge_floor(case: dict[str, Any]) -> Any:
            sql = self._knowledge_floor_sql(tags=bool(case["tags"]), text=bool(case["q"]))
            with raw.cursor() as cursor:
                cursor.execute(sql, case)
                return cursor.fetchall()

        client = APIClient()
        token, _ = Token.objects.get_or_create(user=self._bench_user(organizations))
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

        def config_api(case: dict[str, Any]) -> Any:
            return client.get(
                "/api/v1/voice/configs/active/", {"location": case["location"], "organization": case["slug"]}
            )

        def knowledge_api(case: dict[str, Any]) -> Any:
            params = {
                "organization": case["slug"],
                "category": case["category"],
                "location": case["location"],
            }
            if case["tags"]:
                params["tags"] = ",".join(case["tags"])
            if case["q"]:
                params["q"] = case["q"]
            return client.get("/api/v1/voice/knowledge/lookup/", params)

        self._check_same_results(
            config_case, config_ours, config_floor, knowledge_case, knowledge_ours, knowledge_floor
        )
        rows = []
        with override_settings(DEBUG=False), _without_throttling():
            for label, case, ours, floor in (
                ("config lookup (selector)", config_case, config_ours, config_floor),
                ("knowledge lookup (selector)", knowledge_case, knowledge_ours, knowledge_floor),
                ("config lookup (GET request)", config_case, config_api, config_floor),
                ("knowledge lookup (GET request)", knowledge_case, knowledge_api, knowledge_floor),
            ):
                rows.append(self._interleaved(label, case, ours, floor, iterations))
        self.stdout.write("")
        self.stdout.write(
            f"Lookups, {iterations} each, interleaved with the raw-SQL floor (ms; target p95 <= {TARGET_MS:g} ms "
            "for the selectors):"
        )
        self.stdout.write(
            format_table(
                [
                    "operation",
                    "ours p50",
                    "ours p95",
                    "floor p50",
                    "floor p95",
                    "ratio p50",
                    "ratio p95",
                    "target",
                ],
                rows,
            )
        )
        self._explain(organizations)

    def _check_same_results(
        self, config_case, config_ours, config_floor, knowledge_case, knowledge_ours, knowledge_floor
    ) -> None:  # noqa: ANN001
        """The floor must do the same work: the same rows for the same cases."""
        for _ in range(200):
            case = config_case()
            ours, floor = config_ours(case), config_floor(case)
            assert (ours.config.pk if ours.config else None) == (floor[0][0] if floor else None), case
            case = knowledge_case()
            assert [e.pk for e in knowledge_ours(case)] == [row[0] for row in knowledge_floor(case)], case
        self.stdout.write(
            "Floor check: ours and the floor return the same rows for 200 cases of each lookup."
        )

    def _interleaved(
        self, label: str, case: Callable[[], dict[str, Any]], ours: Callable, floor: Callable, iterations: int
    ) -> list[Any]:
        first = ours(case())
        if getattr(first, "status_code", 200) >= 400:
            raise CommandError(f"{label}: HTTP {first.status_code} {first.content[:300]!r}")
        for _ in range(100):  # warm up: connections, caches, prepared statements, the planner
            params = case()
            ours(params)
            floor(params)
        ours_ms, floor_ms = [], []
        for iteration in range(iterations):
            params = case()
            pair = (
                ((ours, ours_ms), (floor, floor_ms))
                if iteration % 2 == 0
                else ((floor, floor_ms), (ours, ours_ms))
            )
            for operation, timings in pair:
                started = time.perf_counter()
                operation(params)
                timings.append((time.perf_counter() - started) * 1000)
        ours_p50, ours_p95 = statistics.median(ours_ms), _percentile(ours_ms, 0.95)
        floor_p50, floor_p95 = statistics.median(floor_ms), _percentile(floor_ms, 0.95)
        target = ("OK" if ours_p95 <= TARGET_MS else "MISSED") if "selector" in label else ""
        return [
            label,
            round(ours_p50, 3),
            round(ours_p95, 3),
            round(floor_p50, 3),
            round(floor_p95, 3),
            f"{ours_p50 / floor_p50:.2f}x",
            f"{ours_p95 / floor_p95:.2f}x",
            target,
        ]

    def _explain(self, organizations: list[Organization]) -> None:
        org = organizations[0]
        case = {
            "org": org.pk,
            "location": self.locations[org.pk][0],
            "category": "faq",
            "tags": ["parking", "hours"],
            "q": "parking",
        }
        with connection.cursor() as cursor:
            for label, sql in (
                ("config lookup", self.CONFIG_FLOOR),
                ("knowledge lookup (tags + text)", self._knowledge_floor_sql(tags=True, text=True)),
            ):
                cursor.execute("EXPLAIN (FORMAT JSON) " + sql, case)
                plan = cursor.fetchone()[0]
                self.stdout.write(
                    f"Plan of the {label}: indexes {', '.join(sorted(_index_names(plan))) or 'none'}"
                )

    def _bench_user(self, organizations: list[Organization]) -> User:
        """The voice platform's integration: staff in every benchmark organization (not a superuser)."""
        user, _ = User.objects.get_or_create(username="bench_voice_pipeline", defaults={"password": "!"})
        present = set(Membership.objects.filter(user=user).values_list("organization_id", flat=True))
        Membership.objects.bulk_create(
            [
                Membership(organization=org, user=user, role="staff")
                for org in organizations
                if org.pk not in present
            ]
        )
        membership_groups_sync(user=user)
        return user

    # --- retention ---------------------------------------------------------------------------------------

    def _retention(self, organizations: list[Organization], *, turns: int, rounds: int) -> None:
        periods = RetentionPeriods.from_settings()
        results: dict[str, list[float]] = {"ours": [], "floor": []}
        removed: dict[str, list[int]] = {"ours": [], "floor": []}
        load_seconds = []
        for round_number in range(rounds):
            order = ("ours", "floor") if round_number % 2 == 0 else ("floor", "ours")
            for variant in order:
                load_seconds.append(self._load_calls(organizations, turns=turns))
                now = timezone.now()
                started = time.perf_counter()
                if variant == "ours":
                    steps = retention_run(now=now, periods=periods)
                    changed = sum(step.rows for step in steps)
                else:
                    changed = self._retention_floor(now=now, periods=periods)
                results[variant].append(time.perf_counter() - started)
                removed[variant].append(changed)
                self.stdout.write(
                    f"  round {round_number + 1} {variant}: {results[variant][-1]:.2f} s, {changed} rows changed"
                )
        per = turns / 100_000
        rows = []
        for variant in ("ours", "floor"):
            seconds = results[variant]
            rows.append(
                [
                    "retention_cleanup" if variant == "ours" else "floor (plain SQL, one transaction)",
                    round(statistics.median(seconds), 2),
                    round(max(seconds), 2),
                    round(statistics.median(seconds) / per, 3),
                    removed[variant][0],
                ]
            )
        ratio = statistics.median(results["ours"]) / statistics.median(results["floor"])
        self.stdout.write("")
        self.stdout.write(
            f"Retention over {turns:,} turns ({turns // 10:,} calls, {turns // 5:,} events; {rounds} rounds, "
            f"loads {statistics.median(load_seconds):.1f} s each):"
        )
        self.stdout.write(
            format_table(["run", "p50 s", "max s", "p50 s per 100k turns", "rows changed"], rows)
        )
        self.stdout.write(f"Ratio ours/floor (p50): {ratio:.2f}x")
        if set(removed["ours"]) != set(removed["floor"]) or len(set(removed["ours"])) != 1:
            raise CommandError(f"ours and the floor changed different numbers of rows: {removed}")

    def _load_calls(self, organizations: list[Organization], *, turns: int) -> float:
        """The retention dataset, afresh: the benchmark organizations' calls replaced by COPY."""
        started = time.perf_counter()
        rng = random.Random(7)
        ids = [org.pk for org in organizations]
        calls = turns // 10
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            for table in ("voice_turn", "voice_callevent", "voice_call", "voice_appointment"):
                cursor.execute(f"DELETE FROM {table} WHERE organization_id = ANY(%s)", [ids])
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM voice_call")
            base = cursor.fetchone()[0] + 1
            raw = cursor.cursor
            call_rows = []
            with raw.copy(
                "COPY voice_call (id, organization_id, call_id, caller_phone, started_at, ended_at, status, "
                "outcome, transcript, ingest_fingerprint, created_at, updated_at) FROM STDIN"
            ) as copy:
                for n in range(calls):
                    org_id = ids[n % len(ids)]
                    started_at = now - dt.timedelta(seconds=rng.uniform(0, 3 * 365 * 86400))
                    status = "failed" if rng.random() < 0.1 else "completed"
                    call_rows.append((base + n, org_id, started_at))
                    copy.write_row(
                        (
                            base + n,
                            org_id,
                            f"bench-{base + n}",
                            "+13125550100",
                            started_at,
                            started_at + dt.timedelta(minutes=3),
                            status,
                            "question_answered",
                            "caller: hello\nagent: how can I help?",
                            "",
                            now,
                            now,
                        )
                    )
            with raw.copy(
                "COPY voice_turn (organization_id, call_id, turn_index, speaker, text, asr_confidence, "
                "latency_asr_ms, latency_llm_ms, latency_tts_ms, latency_total_ms, interrupted, occurred_at) FROM STDIN"
            ) as copy:
                for call_pk, org_id, started_at in call_rows:
                    for index in range(10):
                        copy.write_row(
                            (org_id, call_pk, index, "caller" if index % 2 == 0 else "agent", "some words said",
                             0.9, 120, 400, 150, 700, False, started_at + dt.timedelta(seconds=index * 10))
                        )  # fmt: skip
            with raw.copy(
                "COPY voice_callevent (organization_id, call_id, turn_index, event_type, event_data, occurred_at) FROM STDIN"
            ) as copy:
                for call_pk, org_id, started_at in call_rows:
                    for index in (1, 5):
                        copy.write_row(
                            (
                                org_id,
                                call_pk,
                                index,
                                "barge_in",
                                "{}",
                                started_at + dt.timedelta(seconds=index * 10),
                            )
                        )
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('voice_call', 'id'), (SELECT MAX(id) FROM voice_call))"
            )
        with connection.cursor() as cursor:
            for table in ("voice_call", "voice_turn", "voice_callevent"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        return time.perf_counter() - started

    def _retention_floor(self, *, now: dt.datetime, periods: RetentionPeriods) -> int:
        """The same steps as retention_run, by hand: plain statements, unbatched, one transaction."""
        cut = Cutoffs.at(now, periods)
        doomed = "((c.status = 'failed' AND c.started_at < %(failed)s) OR c.started_at < %(calls)s)"
        params = {
            "failed": cut.failed_calls,
            "calls": cut.calls,
            "events": cut.call_events,
            "turns": cut.turns,
            "sanitize": cut.sanitize,
            "appointments": cut.appointments,
            "now": now,
        }
        statements = [
            f"DELETE FROM voice_turn t USING voice_call c WHERE t.call_id = c.id AND {doomed}",
            f"DELETE FROM voice_callevent e USING voice_call c WHERE e.call_id = c.id AND {doomed}",
            f"DELETE FROM voice_call c WHERE {doomed}",
            "DELETE FROM voice_callevent WHERE occurred_at < %(events)s",
            "DELETE FROM voice_turn WHERE occurred_at < %(turns)s",
            "UPDATE voice_call SET transcript = '', caller_phone = '', sanitized_at = %(now)s "
            "WHERE started_at < %(sanitize)s AND sanitized_at IS NULL",
            "UPDATE voice_turn SET text = '' WHERE occurred_at < %(sanitize)s AND NOT (text = '')",
            "DELETE FROM voice_appointment WHERE start_at < %(appointments)s",
        ]
        changed = 0
        raw = connection.connection
        with raw.transaction(), raw.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql, params)
                changed += cursor.rowcount
        return changed


def _index_names(plan: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(plan, dict):
        if "Index Name" in plan:
            names.add(plan["Index Name"])
        for value in plan.values():
            names |= _index_names(value)
    elif isinstance(plan, list):
        for item in plan:
            names |= _index_names(item)
    return names


@contextmanager
def _without_throttling():  # noqa: ANN202
    """No rate limit for the benchmark's token client (config.api.TokenClientThrottle reads its rate
    per request; a view's throttle classes are fixed when it is defined)."""
    from django.conf import settings

    rates = {**settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}), "token_client": None}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        yield
