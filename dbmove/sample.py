"""A populated source database across the apps, for the move's tests and its benchmark (bench_move).

`sample_rows_write(alias)` writes a few rows into nearly every table with the values a move must carry
exactly: unicode and emoji text, NULLs, booleans both ways, decimals at their scale, nested JSON (floats
such as 1.0 and 1e2, unicode, nulls, booleans), datetimes with microseconds, dates and times, UUID and
text primary keys, IPv4 and IPv6 addresses, many-to-many rows and the history rows saves leave.
`bulk_rows_write(alias, rows)` adds about `rows` rows spread over the biggest tables of routing and the
automated agents (cases, assignments, decisions, events, tasks, messages, performance samples), with
bulk inserts, for the benchmark's scale. Both write through the ORM to the database alias given.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import router
from rest_framework.authtoken.models import Token

from agents.models import (
    AgentAvailability,
    AgentCapability,
    AgentMessage,
    AgentPerformance,
    AgentPerformanceSample,
    AgentSchedule,
    AgentSkill,
    AgentSpecialization,
    AgentTask,
    AutomatedAgent,
    HumanAgent,
    SkillDomain,
    Workflow,
    WorkflowExecution,
)
from routing.models import (
    CaseAssignment,
    EscalationQueueEntry,
    RoutingDecision,
    RoutingEvent,
    SupportCase,
)

BASE_TIME = dt.datetime(2026, 3, 5, 10, 15, 30, 123456, tzinfo=dt.UTC)
NESTED_JSON = {
    "tiers": [1, 1.0, 1e2, 2.5, -0.0001, None, True, False],
    "label": "Zoë 🤖 日本語",
    "nested": {"b": {"c": [{}, []]}, "a": "x"},
}


class _AllTo:
    """A router sending every read and write to one alias (see `_routed_to`)."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return self.alias

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return self.alias


@contextlib.contextmanager
def _routed_to(alias: str) -> Iterator[None]:
    """simple-history saves its history rows through the router, not on the alias the tracked row was
    saved on: route everything to `alias` while the sample is written, so no row lands elsewhere."""
    previous = router.__dict__.get("routers")
    router.routers = [_AllTo(alias)]
    try:
        yield
    finally:
        if previous is None:
            router.__dict__.pop("routers", None)
        else:
            router.routers = previous


def sample_rows_write(alias: str) -> None:
    """A handful of edge-case rows in nearly every table of the source at `alias`."""
    with _routed_to(alias):
        _sample_rows_write(alias)


def _sample_rows_write(alias: str) -> None:
    user = User.objects.db_manager(alias).create_user(
        "zoë",
        "zoe@example.com",
        "correct-horse-battery",
        first_name="Zoë",
        last_name="Ångström 🤖",
        is_staff=True,
    )
    User.objects.db_manager(alias).create_user("plain", "", None, is_active=False)
    user.groups.add(Group.objects.using(alias).get(name="Supervisors"))
    user.user_permissions.add(*Permission.objects.using(alias).order_by("pk")[:3])
    Token.objects.using(alias).create(user=user)
    Session.objects.using(alias).create(
        session_key="s" * 32, session_data="e30:" + "x" * 500, expire_date=BASE_TIME + dt.timedelta(days=14)
    )
    LogEntry.objects.using(alias).create(
        user=user,
        content_type=ContentType.objects.db_manager(alias).get_for_model(HumanAgent),
        object_id="agent_001",
        object_repr="Sarah Johnson (agent_001) — édité",
        action_flag=CHANGE,
        change_message='[{"changed": {"fields": ["Name"]}}]',
        action_time=BASE_TIME,
    )
    from axes.models import AccessAttempt

    for address in ("203.0.113.7", "2001:db8::1"):
        AccessAttempt.objects.using(alias).create(
            user_agent="Mozilla/5.0 (X11; Linux) ✓",
            ip_address=address,
            username="zoë",
            http_accept="text/html",
            path_info="/admin/login/",
            attempt_time=BASE_TIME,
            get_data="",
            post_data="username=zo%C3%AB",
            failures_since_start=3,
        )

    domain = SkillDomain.objects.using(alias).create(code="move_edge", name="Édge cases", description="")
    agent = HumanAgent(
        code="move-edge-1",
        name="Zoë Ångström",
        email="zoe.angstrom@example.com",
        employee_id=None,
        department="Support ☎",
        hire_date=dt.date(2020, 2, 29),
        skill_level="expert",
        base_hourly_rate=Decimal("12.34"),
        max_concurrent_work=3,
        is_active=False,
    )
    agent.save(using=alias)
    agent.name = "Zoë Ångström-Smith"
    agent.save(using=alias)  # a second history row
    AgentAvailability.objects.using(alias).create(
        agent=agent,
        status="busy",
        status_since=BASE_TIME,
        manual_override=True,
        override_reason="Training 🎓",
        current_load=2,
        last_assigned_at=None,
    )
    AgentPerformance.objects.using(alias).create(
        agent=agent,
        csat_score=Decimal("4.75"),
        escalation_rate=Decimal("0.0125"),
        stress_score=Decimal("0.3"),
    )
    AgentSkill.objects.using(alias).create(
        agent=agent, domain=domain, proficiency="expert", years_experience=Decimal("2.5"), last_updated=None
    )
    AgentSpecialization.objects.using(alias).create(
        agent=agent,
        specialization="línea auto",
        confidence=Decimal("0.85"),
        insurance_line="auto",
        customer_segment=None,
        proficiency=5,
        languages=["es", "en"],
        territories=["US-CA"],
    )
    AgentSchedule.objects.using(alias).create(
        agent=agent,
        day_of_week="friday",
        start_time=dt.time(8, 30, 15),
        end_time=dt.time(17, 45),
        timezone="Asia/Kolkata",
        effective_from=dt.date(2026, 1, 1),
        effective_until=None,
    )

    case = SupportCase.objects.using(alias).create(
        case_id="CASE-ÉDGE-1",
        customer_id="cust ☂",
        priority="high",
        complexity="medium",
        required_skills=["move_edge"],
        special_requirements=NESTED_JSON,
        language="es",
        estimated_resolution_minutes=None,
        status="assigned",
        created_at=BASE_TIME,
    )
    assignment = CaseAssignment.objects.using(alias).create(
        case=case,
        agent=agent,
        assigned_at=BASE_TIME,
        status="assigned",
        priority="high",
        complexity="medium",
        required_skills=["move_edge"],
        escalated=True,
        routing_confidence=Decimal("0.70"),
        match_score=Decimal("99.99"),
    )
    queued = SupportCase.objects.using(alias).create(
        case_id="CASE-QUEUED-1", priority="low", complexity="low", status="queued", created_at=BASE_TIME
    )
    EscalationQueueEntry.objects.using(alias).create(
        case=queued,
        priority="critical",
        complexity="low",
        required_skills=[],
        queued_at=BASE_TIME,
        wait_deadline=BASE_TIME + dt.timedelta(minutes=30),
        excluded_agents=[agent.pk],
    )
    RoutingDecision.objects.using(alias).create(
        case=case,
        strategy="skill_based",
        outcome="assigned",
        winner=agent,
        assignment=assignment,
        candidates=[{"agent": agent.code, "total": 0.873, "factors": {"skill": 1.0, "load": 0.1}}],
        candidate_count=1,
        reason="",
        duration_ms=3.25,
        created_at=BASE_TIME,
    )
    RoutingEvent.objects.using(alias).create(case=case, event_type="routed", agent=agent, data=NESTED_JSON)

    bot = AutomatedAgent.objects.using(alias).create(
        name="Señor Bot 日本",
        agent_type="chief_of_staff",
        status="active",
        capabilities=["web_search", "翻訳"],
        system_prompt=None,
        performance_metrics={
            "latency_ms": {"value": 1.0, "unit": "ms", "recorded_at": BASE_TIME.isoformat()}
        },
        last_heartbeat=BASE_TIME,
        legacy_id="ägent-ü",
        created_at=None,
        updated_at=BASE_TIME,
    )
    for name, confidence in (("web_search", "0.95"), ("翻訳", "0.50")):
        AgentCapability.objects.using(alias).create(
            agent=bot, capability_name=name, confidence_score=Decimal(confidence)
        )
    other = AutomatedAgent.objects.using(alias).create(name="Operator", agent_type="master_operator")
    workflow = Workflow(
        name="Renewal ✓",
        description=None,
        definition={"steps": [{"name": "a", "title": "Á"}]},
        status="active",
        tags=["sales", "ü"],
        created_by=bot,
    )
    workflow.save(using=alias)
    execution = WorkflowExecution.objects.using(alias).create(
        workflow=workflow, definition=workflow.definition, context_data=NESTED_JSON, started_by=bot
    )
    AgentTask.objects.using(alias).create(
        title="Überprüfen",
        description=None,
        assigned_agent=bot,
        workflow=workflow,
        execution=execution,
        required_capabilities=["web_search"],
        context_data=NESTED_JSON,
        deadline=BASE_TIME,
        created_at=None,
    )
    AgentMessage.objects.using(alias).create(
        sender=bot,
        recipient=other,
        sender_type=bot.agent_type,
        recipient_type=other.agent_type,
        message_type="task_request",
        correlation_id=uuid.UUID("00000000-0000-4000-8000-000000000001"),
        status="delivered",
        delivered_at=BASE_TIME,
        payload=NESTED_JSON,
    )
    AgentPerformanceSample.objects.using(alias).create(
        agent=bot,
        metric_name="latency_ms",
        metric_value=Decimal("123456.7891"),
        metric_unit="ms",
        recorded_at=BASE_TIME,
    )


# --- scale --------------------------------------------------------------------------------------------------


def bulk_rows_write(
    alias: str, rows: int, *, seed: int = 10, on_batch: Callable[[int], None] | None = None
) -> int:
    """About `rows` more rows across routing's and the automated agents' biggest tables; returns how many.

    Per 20 rows: 3 cases, 3 assignments, 1 decision, 3 events, 4 tasks, 3 messages, 3 performance samples.
    """
    with _routed_to(alias):
        return _bulk_rows_write(alias, rows, seed=seed, on_batch=on_batch)


def _bulk_rows_write(alias: str, rows: int, *, seed: int, on_batch: Callable[[int], None] | None) -> int:
    rng = random.Random(seed)
    report = on_batch or (lambda written: None)
    humans = list(HumanAgent.objects.using(alias).values_list("pk", flat=True)) or _humans(alias)
    bots = list(AutomatedAgent.objects.using(alias).values_list("pk", flat=True)) or _bots(alias)
    units = max(rows // 20, 1)
    batch = 2000
    written = 0
    for start in range(0, units, batch):
        count = min(batch, units - start)
        cases = [
            SupportCase(
                case_id=f"BULK-{start + n:08d}-{k}",
                customer_id=f"cust-{rng.randrange(10**6)}",
                priority=rng.choice(("low", "medium", "high", "critical")),
                complexity=rng.choice(("low", "medium", "high")),
                required_skills=rng.sample(["billing", "technical", "general", "refunds"], 2),
                special_requirements={"vip": rng.random() < 0.1, "score": round(rng.random(), 4)},
                language="en",
                status="completed",
                created_at=BASE_TIME - dt.timedelta(minutes=start + n),
            )
            for n in range(count)
            for k in range(3)
        ]
        SupportCase.objects.using(alias).bulk_create(cases, batch_size=1000)
        CaseAssignment.objects.using(alias).bulk_create(
            (
                CaseAssignment(
                    case_id=case.case_id,
                    agent_id=rng.choice(humans),
                    assigned_at=case.created_at,
                    completed_at=case.created_at + dt.timedelta(minutes=rng.randint(5, 90)),
                    status="completed",
                    priority=case.priority,
                    complexity=case.complexity,
                    required_skills=case.required_skills,
                    resolution_minutes=rng.randint(5, 90),
                    csat_rating=rng.randint(1, 5),
                    escalated=rng.random() < 0.15,
                    routing_strategy="skill_based",
                    routing_confidence=Decimal(f"{rng.uniform(0.7, 0.95):.2f}"),
                    match_score=Decimal(f"{rng.uniform(70, 95):.2f}"),
                )
                for case in cases
            ),
            batch_size=1000,
        )
        RoutingDecision.objects.using(alias).bulk_create(
            (
                RoutingDecision(
                    case_id=case.pk,
                    strategy="skill_based",
                    outcome="assigned",
                    candidates=[{"agent": "agent_001", "total": round(rng.random(), 3)}],
                    candidate_count=1,
                    duration_ms=rng.uniform(1, 10),
                    created_at=case.created_at,
                )
                for case in cases[::3]
            ),
            batch_size=1000,
        )
        RoutingEvent.objects.using(alias).bulk_create(
            (
                RoutingEvent(
                    case_id=case.pk,
                    event_type="completed",
                    data={"minutes": rng.randint(5, 90)},
                    created_at=case.created_at,
                )
                for case in cases
            ),
            batch_size=1000,
        )
        AgentTask.objects.using(alias).bulk_create(
            (
                AgentTask(
                    title=f"Bulk task {start + n}-{k}",
                    description=rng.choice((None, "Follow up with the account and log the outcome.")),
                    status=rng.choice(("pending", "completed", "failed")),
                    priority=rng.choice(("low", "medium", "high", "urgent")),
                    assigned_agent_id=rng.choice(bots),
                    required_capabilities=["crm"],
                    context_data={"account": f"A{rng.randrange(10**5)}"},
                    created_at=BASE_TIME,
                    updated_at=BASE_TIME,
                )
                for n in range(count)
                for k in range(4)
            ),
            batch_size=1000,
        )
        AgentMessage.objects.using(alias).bulk_create(
            (
                AgentMessage(
                    sender_id=rng.choice(bots),
                    recipient_id=rng.choice(bots),
                    sender_type="chief_of_staff",
                    recipient_type="master_operator",
                    message_type="status_update",
                    subject=f"Update {start + n}",
                    payload={"progress": round(rng.random(), 2)},
                    status="sent",
                    created_at=BASE_TIME,
                )
                for n in range(count)
                for _ in range(3)
            ),
            batch_size=1000,
        )
        AgentPerformanceSample.objects.using(alias).bulk_create(
            (
                AgentPerformanceSample(
                    agent_id=rng.choice(bots),
                    metric_name=rng.choice(("latency_ms", "tokens", "success_rate")),
                    metric_value=Decimal(f"{rng.uniform(0, 9999):.4f}"),
                    metric_unit="ms",
                    recorded_at=BASE_TIME,
                )
                for n in range(count)
                for _ in range(3)
            ),
            batch_size=1000,
        )
        written += count * 20
        report(written)
    return written


def _humans(alias: str) -> list[int]:
    agents = [
        HumanAgent(code=f"bulk_{n:03d}", name=f"Bulk {n}", email=f"bulk{n}@example.com", skill_level="senior")
        for n in range(20)
    ]
    HumanAgent.objects.using(alias).bulk_create(agents)
    return list(HumanAgent.objects.using(alias).values_list("pk", flat=True))


def _bots(alias: str) -> list[uuid.UUID]:
    bots = [AutomatedAgent(name=f"Bulk bot {n}", agent_type="master_operator") for n in range(20)]
    AutomatedAgent.objects.using(alias).bulk_create(bots)
    return [bot.pk for bot in bots]
