"""The hot statements' plans on PostgreSQL at a realistic size: each uses the index it was written for.

The hot SQL leans on planner behaviour (OFFSET fences, LATERAL walks, index-only counts), so a planner
or statistics change that turns one into a sequential scan must fail a test, not page someone. The
floor is loaded with set-based INSERT ... SELECT generate_series (a second, not a per-row loop) and
analysed; each statement is captured as the application runs it and EXPLAINed as is.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator

import pytest
from django.db import connection, transaction
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import AgentAvailability, HumanAgent, SkillDomain
from routing.engine.rules import ring_for
from routing.models import EscalationQueueEntry, QueueStatus, SupportCase
from routing.selectors import agent_candidates, queue_position, queue_waiting
from routing.selectors.queue import queue_anything_ahead
from routing.services.queue import new_work_cursor
from routing.services.requests import case_work_profile

# Transactional (autocommit) so that the floor can be VACUUMed: the visibility map is what lets the
# counts be index-only, as autovacuum keeps it on a live database.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("seed_rows_back_after_flush"),
]

AGENTS = 5_000
WAITING = 30_000


def _load_floor() -> None:
    """5,000 agents (a tenth of them working, all with billing and English, in schedule all week) and
    30,000 waiting cases, in a handful of set-based statements."""
    q = connection.ops.quote_name
    table = {model: q(model._meta.db_table) for model in (HumanAgent, AgentAvailability, SkillDomain)}
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table[HumanAgent]} (code, name, email, department, skill_level, max_concurrent_work, "
            "frustration_tolerance, is_active, created_at, updated_at) "
            "SELECT 'plan_' || n, 'Agent ' || n, 'plan' || n || '@example.com', '', 'senior', 1 + n %% 5, "
            "(ARRAY['low','medium','high'])[1 + n %% 3], TRUE, now(), now() FROM generate_series(1, %s) n",
            [AGENTS],
        )
        cursor.execute(
            f"INSERT INTO {table[AgentAvailability]} (agent_id, status, status_since, manual_override, "
            "override_reason, current_load, last_assigned_at, last_status_change) "
            "SELECT h.id, CASE WHEN h.id % 10 = 0 THEN 'available' ELSE 'offline' END, now(), FALSE, '', "
            f"h.id % 3, now() - (h.id % 600) * interval '1 second', now() FROM {table[HumanAgent]} h "
            "WHERE h.code LIKE 'plan_%%'"
        )
        billing = SkillDomain.objects.get_or_create(code="billing", defaults={"name": "Billing"})[0].pk
        cursor.execute(
            "INSERT INTO agents_agentperformance (agent_id, cases_today, cases_this_week, cases_this_month, "
            "consecutive_difficult_cases, stress_score, last_updated) "
            f"SELECT id, 0, 0, 0, 0, 0, now() FROM {table[HumanAgent]} WHERE code LIKE 'plan_%%'"
        )
        cursor.execute(
            "INSERT INTO agents_agentskill (agent_id, domain_id, proficiency, certification_level) "
            f"SELECT id, %s, 'advanced', '' FROM {table[HumanAgent]} WHERE code LIKE 'plan_%%'",
            [billing],
        )
        cursor.execute(
            "INSERT INTO agents_agentlanguage (agent_id, language_code, proficiency) "
            f"SELECT id, 'en', 'native' FROM {table[HumanAgent]} WHERE code LIKE 'plan_%%'"
        )
        cursor.execute(
            "INSERT INTO agents_agentschedule (agent_id, day_of_week, start_time, end_time, timezone, "
            "effective_from, schedule_type) "
            "SELECT h.id, d.day, '00:00', '00:00', 'UTC', '2020-01-01', 'regular' "
            f"FROM {table[HumanAgent]} h CROSS JOIN unnest(ARRAY['monday','tuesday','wednesday','thursday',"
            "'friday','saturday','sunday']) d(day) WHERE h.code LIKE 'plan_%%'"
        )
        cursor.execute(
            "INSERT INTO routing_supportcase (case_id, customer_id, priority, complexity, required_skills, "
            "special_requirements, customer_frustration, language, max_wait_minutes, status, created_at, updated_at) "
            "SELECT 'plan-' || n, '', (ARRAY['low','medium','high','critical'])[1 + n %% 4], 'low', "
            "'[\"billing\"]'::jsonb, '{}'::jsonb, 'low', 'en', 30, 'queued', now(), now() "
            "FROM generate_series(1, %s) n",
            [WAITING],
        )
        cursor.execute(
            "INSERT INTO routing_escalationqueueentry (id, case_id, customer_id, language, priority, complexity, "
            "required_skills, special_requirements, customer_frustration, queued_at, max_wait_minutes, "
            "wait_deadline, status, widen_level, escalation_count, next_escalation_at, excluded_agents, "
            "routing_strategy, strategy_parameters) "
            "SELECT gen_random_uuid(), c.case_id, '', 'en', c.priority, 'low', c.required_skills, '{}'::jsonb, "
            "'low', now() - (row_number() OVER () % 3600) * interval '1 second', 30, "
            "CASE WHEN row_number() OVER () % 5 = 0 THEN now() - interval '5 minutes' ELSE now() + interval '20 minutes' END, "
            "'queued', 0, 0, now() + interval '20 minutes', '[]'::jsonb, '', "
            "'{}'::jsonb FROM routing_supportcase c WHERE c.case_id LIKE 'plan-%%'"
        )
        for table_name, columns, values in (
            (
                "routing_routingdecision",
                "case_id, strategy, strategy_parameters, outcome, candidates, candidate_count, prerank, reason, "
                "widen_level, duration_ms, created_at",
                "c.id, 'skill_based', '{}'::jsonb, 'queued', '[]'::jsonb, 0, '{}'::jsonb, '', 0, 1.0, now()",
            ),
            (
                "routing_routingevent",
                "case_id, event_type, data, created_at",
                "c.id, 'queued', '{}'::jsonb, now()",
            ),
        ):
            cursor.execute(
                f"INSERT INTO {table_name} ({columns}) SELECT {values} FROM routing_supportcase c "
                "WHERE c.case_id LIKE 'plan-%%'"
            )
        cursor.execute("VACUUM ANALYZE")


@pytest.fixture
def floor() -> Iterator[None]:
    _load_floor()
    yield


def _plan(sql: str, params: list | None = None, *, analyze: bool = False) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ({'ANALYZE, ' if analyze else ''}FORMAT JSON) {sql}", params)
        raw = cursor.fetchone()[0]
    return (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]


def _nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _captured(operation) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        operation()
    return [query["sql"] for query in queries.captured_queries]


def _indexes(plan: dict) -> set[str]:
    return {node["Index Name"] for node in _nodes(plan) if "Index Name" in node}


def _seq_scans(plan: dict) -> set[str]:
    return {node["Relation Name"] for node in _nodes(plan) if node["Node Type"] == "Seq Scan"}


def _statements(operation) -> list[tuple[str, list]]:
    """The statements an operation runs, as sent: text with %s placeholders and the parameters."""
    sent: list[tuple[str, list]] = []

    def record(execute, sql, params, many, context):
        sent.append((sql, list(params or [])))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        operation()
    return sent


def _generic_plan(sql: str, params: list) -> dict:
    """The plan a prepared statement runs once PostgreSQL settles on its generic plan (what the
    candidate search executes after its first calls on a connection: config.prepared): PREPAREd with
    $n placeholders, EXPLAINed under plan_cache_mode = force_generic_plan."""
    numbered = iter(range(1, len(params) + 1))
    text = re.sub(r"%s", lambda _: f"${next(numbered)}", sql)
    with connection.cursor() as cursor:
        cursor.execute(f"PREPARE plan_probe AS {text}")
        try:
            cursor.execute("SET plan_cache_mode = force_generic_plan")
            return _plan(f"EXECUTE plan_probe({', '.join(['%s'] * len(params))})", params)
        finally:
            cursor.execute("RESET plan_cache_mode")
            cursor.execute("DEALLOCATE plan_probe")


def _candidate_search() -> tuple[str, list]:
    """The candidate search's statement (text and parameters) for a billing case in English."""
    work = case_work_profile(
        case_id="X",
        priority="low",
        complexity="low",
        frustration="low",
        required_skills=["billing"],
        language="en",
        special_requirements={},
    )
    [(sql, params)] = [
        (s, p)
        for s, p in _statements(
            lambda: agent_candidates(work=work, ring=ring_for(work, 0), now=timezone.now(), lockout=3)
        )
        if "generate_series" in s
    ]
    return sql, params


def test_the_candidate_pool_walk_reads_the_availability_index_in_order(floor):
    """As a prepared statement's generic plan too, which reads the same indexes as the plan for the
    values: what a partial index's predicate names (open statuses, difficult complexity) is literal
    in the text, so a generic plan can use the index as well."""
    sql, params = _candidate_search()
    custom, generic = _plan(connection.ops.compose_sql(sql, params)), _generic_plan(sql, params)
    assert _indexes(generic) == _indexes(custom)
    for plan in (custom, generic):
        assert "availability_status_load_idx" in _indexes(plan)
        assert not _seq_scans(plan) & {
            "agents_agentavailability",
            "agents_humanagent",
            "agents_agentschedule",
        }


def test_the_fatigue_count_reads_its_own_index_and_never_the_open_per_case_one(floor):
    """The candidate search counts each candidate's open difficult work by agent on
    assignment_open_difficult_idx. one_open_assignment_per_case (open assignments by case) must not
    even be able to serve that count: with statistics taken on an idle floor the planner took it for
    a one-row read and filtered every open assignment by agent, per candidate. Proved by planning the
    count with its own index dropped (in a transaction rolled back): the open-per-case index is still
    not read, whatever the statistics say."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO routing_caseassignment (id, case_id, agent_id, customer_id, assigned_at, status, "
            "priority, complexity, required_skills, customer_frustration, escalated, routing_strategy) "
            "SELECT gen_random_uuid(), 'plan-' || n, h.id, '', now(), "
            "CASE WHEN n %% 20 = 0 THEN 'assigned' ELSE 'completed' END, 'low', "
            "CASE WHEN n %% 3 = 0 THEN 'high' ELSE 'low' END, '[]', 'low', FALSE, 'plan' "
            f"FROM generate_series(1, %s) n JOIN agents_humanagent h ON h.code = 'plan_' || (1 + n %% {AGENTS})",
            [WAITING],
        )
        # statistics of an idle floor (nothing open), taken after yesterday's work left the open-work
        # indexes at their size; then the morning's work opens again
        cursor.execute("UPDATE routing_caseassignment SET status = 'completed' WHERE status = 'assigned'")
        cursor.execute("VACUUM ANALYZE routing_caseassignment")
        cursor.execute(
            "UPDATE routing_caseassignment SET status = 'assigned' WHERE substr(case_id, 6)::int %% 20 = 0",
            [],
        )
    sql, params = _candidate_search()
    assert "assignment_open_difficult_idx" in _indexes(_plan(connection.ops.compose_sql(sql, params)))

    class Dropped(Exception):
        pass

    with pytest.raises(Dropped), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX assignment_open_difficult_idx")
        for plan in (_plan(connection.ops.compose_sql(sql, params)), _generic_plan(sql, params)):
            assert "one_open_assignment_per_case" not in _indexes(plan)
        raise Dropped


def test_the_queue_is_read_in_serving_order_from_its_partial_index(floor):
    now = timezone.now()
    # two bands: the overdue one (empty here: the planner may count it off the deadline index) and the
    # punctual one, read in serving order off its partial index, stopping at the limit
    overdue_count = EscalationQueueEntry.objects.filter(
        status=QueueStatus.QUEUED, wait_deadline__lte=now
    ).count()
    overdue, punctual = _captured(lambda: queue_waiting(now=now, limit=overdue_count + 8))
    for sql in (overdue, punctual):
        plan = _plan(sql)
        assert "routing_escalationqueueentry" not in _seq_scans(plan), plan
        assert _indexes(plan) & {"queue_serving_order_idx", "queue_deadline_idx", "queue_rank_deadline_idx"}
    assert "queue_serving_order_idx" in _indexes(_plan(punctual))


def _queue_scans(plan: dict) -> list[dict]:
    return [node for node in _nodes(plan) if node.get("Relation Name") == "routing_escalationqueueentry"]


def test_a_dispatch_walk_reads_only_the_agents_languages(floor):
    """Each band is walked per language (the agent's and none) in serving order and the walks merged:
    work waiting in other languages is never read, however much of it is ahead."""
    now = timezone.now()
    # the waiting entries all speak English (a fifth of them overdue): a Japanese speaker reads nothing
    statements = _captured(
        lambda: queue_waiting(now=now, limit=8, where=Q(language__in=["", "ja"]), languages={"ja"})
    )
    assert len(statements) == 2  # one per band
    for sql in statements:
        scans = _queue_scans(_plan(sql, analyze=True))
        assert scans and all("Index Name" in node for node in scans), scans
        assert all(node["Actual Rows"] == 0 and not node.get("Rows Removed by Filter") for node in scans), (
            scans
        )
    # 20 French entries queued last, behind 30,000 English ones: the walk reads French rows only
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE routing_escalationqueueentry SET language = 'fr', wait_deadline = now() + interval '1 hour' "
            "WHERE id IN (SELECT id FROM routing_escalationqueueentry ORDER BY priority_rank, queued_at DESC LIMIT 20)"
        )
    where = Q(language__in=["", "fr"])
    [sql] = _captured(lambda: queue_waiting(now=now, limit=8, where=where, languages={"fr"}))[1:]
    scans = _queue_scans(_plan(sql, analyze=True))
    assert sum(node["Actual Rows"] + node.get("Rows Removed by Filter", 0) for node in scans) <= 20, scans
    found = queue_waiting(now=now, limit=8, where=where, languages={"fr"})
    assert len(found) == 8 and {entry.language for entry in found} == {"fr"}
    # an English speaker's walk finds its entries
    assert len(queue_waiting(now=now, limit=8, where=Q(language__in=["", "en"]), languages={"en"})) == 8


def test_a_queue_position_is_index_range_counts_without_a_sequential_scan(floor):
    entry = EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED).order_by("-queued_at")[5000]
    statements = _captured(lambda: queue_position(entry=entry))
    [sql] = [s for s in statements if "COUNT(*)" in s]
    with transaction.atomic(), connection.cursor() as cursor:  # the statement runs with its own settings
        cursor.execute(
            "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true), "
            "set_config('max_parallel_workers_per_gather', '0', true)"
        )
        plan = _plan(sql)
    scans = {
        (node["Node Type"], node.get("Index Name")) for node in _nodes(plan) if "Scan" in node["Node Type"]
    }
    assert {kind for kind, _ in scans} == {"Index Only Scan"}, scans
    assert _indexes(plan) <= {"queue_rank_deadline_idx", "queue_serving_order_idx", "queue_deadline_idx"}


def test_the_serving_order_guard_asks_the_index_whether_anything_is_ahead(floor):
    # a critical case with no critical entry waiting: the probes must not read the whole queue to say no
    EscalationQueueEntry.objects.filter(priority="critical").update(priority="high")
    EscalationQueueEntry.objects.filter(wait_deadline__lte=timezone.now()).update(
        wait_deadline=timezone.now() + dt.timedelta(minutes=20)
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE routing_escalationqueueentry")
    now = timezone.now()
    statements = _captured(
        lambda: queue_anything_ahead(new_work_cursor(priority="critical", now=now), now=now)
    )
    assert len(statements) == 2
    for sql in statements:
        plan = _plan(sql)
        assert "routing_escalationqueueentry" not in _seq_scans(plan), plan
        assert _indexes(plan) & {"queue_serving_order_idx", "queue_rank_deadline_idx", "queue_deadline_idx"}


def test_a_cases_decisions_and_events_are_read_by_their_case_indexes(floor):
    case = SupportCase.objects.get(case_id="plan-1")
    for relation, index in (("decisions", "decision_case_created_idx"), ("events", "event_case_created_idx")):
        query = getattr(case, relation).order_by("-created_at")[:100]
        plan = json.loads(query.explain(format="json"))[0]["Plan"]
        assert index in _indexes(plan), (relation, plan)


def test_the_sweep_finds_due_escalations_by_their_index(floor):
    due = EscalationQueueEntry.objects.filter(
        status=QueueStatus.QUEUED, next_escalation_at__lte=timezone.now() + dt.timedelta(minutes=25)
    ).order_by("next_escalation_at")[:1000]
    plan = json.loads(due.values_list("pk").explain(format="json"))[0]["Plan"]
    assert "queue_next_escalation_idx" in _indexes(plan)


def test_a_completions_rebuild_of_the_agents_figures_reads_only_the_covering_index(floor):
    """routing.metrics.performance_refresh_agent (each completion) aggregates the agent's assignments of
    the window: an index-only range of assignment_agent_assigned_idx, not a heap page per assignment."""
    from routing.metrics import performance_refresh_agent

    with connection.cursor() as cursor:  # 30,000 completed assignments of the plan cases, 6 per agent
        cursor.execute(
            "INSERT INTO routing_caseassignment (id, case_id, customer_id, agent_id, assigned_at, completed_at, "
            "status, priority, complexity, required_skills, customer_frustration, resolution_minutes, "
            "csat_rating, escalated, routing_strategy) "
            "SELECT gen_random_uuid(), c.case_id, '', h.id, now() - (n %% 200) * interval '1 day', now(), "
            "'completed', 'low', 'low', '[]'::jsonb, 'low', 10, 4, FALSE, 'skill_based' "
            "FROM generate_series(1, %s) n JOIN routing_supportcase c ON c.case_id = 'plan-' || n "
            "JOIN agents_humanagent h ON h.code = 'plan_' || (1 + n %% %s)",
            [WAITING, AGENTS],
        )
        cursor.execute("VACUUM ANALYZE routing_caseassignment")
    agent = HumanAgent.objects.get(code="plan_7")
    statements = _captured(lambda: performance_refresh_agent(agent_id=agent.pk, now=timezone.now()))

    with transaction.atomic():  # price out the other ways to read the rows (small tables tempt bitmaps)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SET LOCAL enable_seqscan = off")
        plan = _plan(statements[-1])
    scans = {node["Index Name"]: node["Node Type"] for node in _nodes(plan) if "Index Name" in node}
    assert scans.get("assignment_agent_assigned_idx") == "Index Only Scan", plan
