"""Every write of lead routing: create and score a lead, route it, record its outcome.

Routing a lead (`lead_route`) reuses the case machinery end to end: the rules engine
(routing.engine.lead_rules) turns the active rules into requirements, the running experiment (if any)
picks the strategy (routing.services.experiments), then `find_and_lock` searches the candidates with the
shared eligibility rules (the lead's rules `lead_specialization` and `agent_group` are in force for lead
work), ranks them with the strategy and locks the winner's availability row; `take_load` and
`release_load` keep the one load count, and `record_decision` writes the same decision record and event
as for a case (their `lead` column). No eligible agent with room: the lead waits in its queue type
(routing.services.lead_queue).

Lock order (routing.services): the agent's availability row first, then work rows. So nothing here
writes the lead row before the agent is locked: the score is computed in memory and written with the
assignment (or, when the lead waits, when no agent is locked at all). Inserts that point at the lead
(events, the experiment assignment) take only FOR KEY SHARE on it, which does not conflict. Two routers
racing for one lead both lock an agent; the second then finds the lead assigned under its row lock and
gets a 409 `lead_not_routable`, its transaction (and the load it would have taken) rolled back. The
partial unique constraint one_open_routing_per_lead backs this up in the database.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from agents.models import AgentPeriodMetrics, HumanAgent
from routing.engine.lead_rules import RulesOutcome, RuleSpec, evaluate_rules
from routing.engine.lead_score import LeadFacts, LeadScore, ScoreSettings, score_lead
from routing.engine.lead_work import TIER_PRIORITY, LeadProfile
from routing.engine.strategies import Strategy
from routing.engine.types import Ring, ScoredCandidate
from routing.errors import InvalidLeadTransition, LeadAlreadyExists, LeadNotFound, LeadNotRoutable
from routing.models import (
    AssignmentQueue,
    AssignmentQueueStatus,
    ConversionOutcome,
    Lead,
    LeadRoutingHistory,
    LeadStatus,
    QueueType,
    RoutingDecision,
    RoutingEvent,
    RoutingEventType,
    RoutingRule,
)
from routing.selectors import CandidateSearch
from routing.services.assignment import (
    Found,
    LockedAgent,
    find_and_lock,
    lock_agent,
    pool_note,
    record_decision,
    release_load,
    take_load,
)
from routing.services.requests import strategy_for
from routing.work import LEADS

LEAD_RING = Ring(level=0, skills=(), min_proficiency="basic")  # leads ask no case skills: one ring


# --- scoring -------------------------------------------------------------------------------------------


def score_settings() -> ScoreSettings:
    config = settings.LEADS
    return ScoreSettings(
        weights=dict(config["SCORE_WEIGHTS"]),
        tier_hot=float(config["TIER_HOT"]),
        tier_warm=float(config["TIER_WARM"]),
        recency_half_life_minutes=float(config["RECENCY_HALF_LIFE_MINUTES"]),
    )


def lead_facts(lead: Lead) -> LeadFacts:
    return LeadFacts(
        customer_segment=lead.customer_segment,
        insurance_line=lead.insurance_line,
        source=lead.source,
        created_at=lead.created_at,
        website_visits=lead.website_visits,
        email_opens=lead.email_opens,
        quote_requested=lead.quote_requested,
        callback_requested=lead.callback_requested,
    )


def lead_score_compute(lead: Lead, *, now: dt.datetime) -> LeadScore:
    """The lead's score now (not written)."""
    return score_lead(lead_facts(lead), settings=score_settings(), now=now)


def _apply_score(lead: Lead, scored: LeadScore, now: dt.datetime) -> list[str]:
    lead.score, lead.tier, lead.score_breakdown, lead.scored_at = (
        scored.score,
        scored.tier,
        scored.breakdown,
        now,
    )
    return ["score", "tier", "score_breakdown", "scored_at"]


def sla_minutes(queue_type: str) -> float:
    return float(settings.LEADS["SLA_MINUTES"][queue_type])


def rule_facts(lead: Lead, *, now: dt.datetime) -> dict[str, Any]:
    """The lead attributes a rule condition may test (routing.engine.lead_rules.LEAD_FIELDS)."""
    return {
        "insurance_line": lead.insurance_line,
        "customer_segment": lead.customer_segment,
        "language": lead.language,
        "territory": lead.territory,
        "source": lead.source,
        "tier": lead.tier,
        "status": lead.status,
        "score": None if lead.score is None else float(lead.score),
        "website_visits": lead.website_visits,
        "email_opens": lead.email_opens,
        "estimated_premium": None if lead.estimated_premium is None else float(lead.estimated_premium),
        "age_minutes": max((now - lead.created_at).total_seconds() / 60, 0.0),
        "quote_requested": lead.quote_requested,
        "callback_requested": lead.callback_requested,
    }


@transaction.atomic
def lead_create(*, now: dt.datetime | None = None, **values: Any) -> Lead:
    """Create a lead (validated fields), score it and record the `scored` event."""
    now = now or timezone.now()
    values.setdefault("created_at", now)
    lead = Lead(**values)
    _apply_score(lead, lead_score_compute(lead, now=now), now)
    try:
        with transaction.atomic():
            lead.save(force_insert=True)
    except IntegrityError:
        if Lead.objects.filter(external_id=lead.external_id).exists():
            raise LeadAlreadyExists(
                external_id=lead.external_id,
                fields={"external_id": ["A lead with this external id exists."]},
            ) from None
        raise
    RoutingEvent.objects.create(
        lead=lead,
        event_type=RoutingEventType.SCORED,
        created_at=now,
        data={"score": float(lead.score), "tier": lead.tier, "breakdown": lead.score_breakdown},
    )
    return lead


# --- the work profile ------------------------------------------------------------------------------------


def active_rules() -> list[RuleSpec]:
    return [
        RuleSpec(
            rule_id=str(rule.pk),
            name=rule.name,
            rule_type=rule.rule_type,
            condition=rule.condition,
            action=rule.action,
            priority=rule.priority,
        )
        for rule in RoutingRule.objects.filter(is_active=True).order_by("-priority", "name")
    ]


def _excluded_ids(codes: list[str]) -> frozenset[int]:
    if not codes:
        return frozenset()
    return frozenset(HumanAgent.objects.filter(code__in=codes).values_list("pk", flat=True))


def lead_work(lead: Lead, requirements: dict[str, Any]) -> LeadProfile:
    """The lead as engine work with the requirements its rules set (stored on a queue entry)."""
    specialization = requirements.get("specialization") or {}
    return LeadProfile(
        work_id=lead.external_id,
        priority=TIER_PRIORITY.get(lead.tier, "low"),
        language=lead.language,
        insurance_line=specialization.get("insurance_line") or lead.insurance_line,
        customer_segment=specialization.get("customer_segment") or lead.customer_segment,
        territory=lead.territory,
        min_specialization=int(specialization.get("min_proficiency") or 1),
        department=requirements.get("department") or "",
        tier=lead.tier,
        excluded_agent_ids=_excluded_ids(list(requirements.get("excluded_agents") or [])),
    )


def tier_conversion(agent_ids: list[int], tier: str) -> dict[int, float]:
    """Each agent's conversion rate for `tier` in its latest period metrics (one query)."""
    column = {
        "hot": "conversion_rate_hot",
        "warm": "conversion_rate_warm",
        "cold": "conversion_rate_cold",
    }.get(tier)
    if not agent_ids or column is None:
        return {}
    latest = (
        AgentPeriodMetrics.objects.filter(agent_id__in=agent_ids)
        .values("agent_id")
        .annotate(latest=Max("period_date"))
        .values_list("agent_id", "latest")
    )
    wanted = dict(latest)
    if not wanted:
        return {}
    rows = AgentPeriodMetrics.objects.filter(agent_id__in=list(wanted), **{f"{column}__isnull": False})
    return {
        agent_id: float(rate)
        for agent_id, period, rate in rows.values_list("agent_id", "period_date", column)
        if wanted.get(agent_id) == period
    }


def with_tier_conversion(work: LeadProfile, search: CandidateSearch) -> LeadProfile:
    """find_and_lock's adapt_work: the candidates' conversion rates for the lead's tier."""
    from dataclasses import replace

    rates = tier_conversion([agent.agent_id for agent in search.agents], work.tier)
    return replace(work, tier_conversion=rates)


# --- routing -----------------------------------------------------------------------------------------


@dataclass
class LeadRoutingOutcome:
    lead: Lead
    decision: RoutingDecision
    history: LeadRoutingHistory | None = None
    queue_entry: AssignmentQueue | None = None
    rules_fired: list[dict[str, Any]] = field(default_factory=list)
    experiment: dict[str, Any] | None = None

    @property
    def assigned(self) -> bool:
        return self.history is not None

    @property
    def http_status(self) -> int:
        return 200 if self.assigned else 202


def _lock_lead(lead_pk: Any) -> Lead:
    return Lead.objects.select_for_update(no_key=True, of=("self",)).get(pk=lead_pk)


def assign_lead(
    *,
    lead: Lead,
    agent: LockedAgent,
    candidate: ScoredCandidate,
    found: Found | None,
    strategy: Strategy,
    now: dt.datetime,
    started: float,
    reason: str,
    reasons: list[dict[str, Any]],
    experiment: dict[str, Any] | None,
    event: str = RoutingEventType.ROUTED,
    extra_fields: list[str] | None = None,
) -> tuple[LeadRoutingHistory, RoutingDecision]:
    """Give the locked lead to the locked agent: one slot of its load, the lead's status and agent, its
    waiting queue entry closed, the decision record and the routing history row."""
    take_load(agent, now=now)
    lead.status, lead.agent_id, lead.assigned_at = LeadStatus.ASSIGNED, agent.agent_id, now
    lead.save(update_fields=["status", "agent", "assigned_at", "updated_at", *(extra_fields or [])])
    for entry in AssignmentQueue.objects.filter(lead=lead, status=AssignmentQueueStatus.WAITING):
        entry.status, entry.left_at, entry.time_in_queue = (
            AssignmentQueueStatus.ASSIGNED,
            now,
            now - entry.queued_at,
        )
        entry.save(update_fields=["status", "left_at", "time_in_queue"])
    ranking = found.ranking if found is not None else None
    decision = record_decision(
        kind=LEADS,
        item_pk=lead.pk,
        strategy=strategy,
        ranking=ranking,
        winner=candidate,
        assignment=None,
        assigned=True,
        reason=reason,
        started=started,
        ring_level=0,
        event=event,
        event_data={"agent": agent.code, "score": float(lead.score or 0), "tier": lead.tier},
        prerank=found.prerank if found is not None else None,
        now=now,
    )
    if ranking is None:  # a dispatch to one agent: the decision holds that agent's factors
        decision.candidates = [candidate.as_record()]
        decision.candidate_count = 1
        decision.save(update_fields=["candidates", "candidate_count"])
    history = LeadRoutingHistory.objects.create(
        lead=lead,
        assigned_agent_id=agent.agent_id,
        strategy=strategy.name,
        strategy_parameters=dict(strategy.values),
        lead_score=lead.score,
        lead_tier=lead.tier,
        assignment_reasons=reasons,
        assignment_factors=decision.candidates,
        decision=decision,
        routed_at=now,
        experiment_id=(experiment or {}).get("experiment_id"),
        variant_id=(experiment or {}).get("variant_id"),
    )
    return history, decision


def _record_rules(lead: Lead, outcome: RulesOutcome, now: dt.datetime) -> None:
    events = [
        RoutingEvent(lead=lead, event_type=RoutingEventType.RULE_FIRED, created_at=now, data=fired)
        for fired in outcome.fired
    ]
    if outcome.skipped:
        events.append(
            RoutingEvent(
                lead=lead,
                event_type=RoutingEventType.RULE_FIRED,
                created_at=now,
                data={"skipped": outcome.skipped},
            )
        )
    if events:
        RoutingEvent.objects.bulk_create(events)


@transaction.atomic
def lead_route(*, lead_id: Any, now: dt.datetime | None = None) -> LeadRoutingOutcome:
    """Route a new or waiting lead: score it again (recency moves), run the rules, draw the experiment
    variant, then give it to the best eligible agent with room, or let it wait in its queue type."""
    from routing.services.experiments import experiment_variant_for
    from routing.services.lead_queue import lead_enqueue

    started = time.perf_counter()
    now = now or timezone.now()
    lead = Lead.objects.filter(pk=lead_id).first()
    if lead is None:
        raise LeadNotFound(lead_id=lead_id)
    if lead.status not in (LeadStatus.NEW, LeadStatus.QUEUED):
        raise LeadNotRoutable(lead_id=lead.pk, status=lead.status)
    scored = lead_score_compute(lead, now=now)
    score_fields = _apply_score(lead, scored, now)
    rules = evaluate_rules(active_rules(), rule_facts(lead, now=now))
    _record_rules(lead, rules, now)
    experiment = experiment_variant_for(lead=lead, now=now)
    waiting = AssignmentQueue.objects.filter(lead=lead, status=AssignmentQueueStatus.WAITING).first()
    if experiment is not None:
        strategy = strategy_for(experiment["strategy"], experiment["parameters"])
    elif waiting is not None and waiting.routing_strategy:
        strategy = strategy_for(waiting.routing_strategy, waiting.strategy_parameters or None)
    else:
        strategy = strategy_for(settings.LEADS["DEFAULT_STRATEGY"])
    requirements = rules.requirements()
    work = lead_work(lead, requirements)
    found = find_and_lock(
        work=work, rings=[LEAD_RING], strategy=strategy, now=now, adapt_work=with_tier_conversion
    )
    reasons: list[dict[str, Any]] = [
        {"rule": fired["rule"], "rule_type": fired["rule_type"]} for fired in rules.fired
    ]
    if experiment is not None:
        reasons.append({"experiment": experiment["experiment"], "variant": experiment["variant"]})
    queue_type = rules.queue_type or scored.queue_type
    if found.winner is not None and found.agent is not None:
        locked = _lock_lead(lead.pk)
        if locked.status not in (LeadStatus.NEW, LeadStatus.QUEUED):
            raise LeadNotRoutable(lead_id=lead.pk, status=locked.status)
        _apply_score(locked, scored, now)
        scored_count = len(found.ranking.candidates) if found.ranking else 0
        history, decision = assign_lead(
            lead=locked,
            agent=found.agent,
            candidate=found.winner,
            found=found,
            strategy=strategy,
            now=now,
            started=started,
            reason=f"best of {scored_count} eligible agents by {strategy.name}{pool_note(found)}",
            reasons=reasons,
            experiment=experiment,
            extra_fields=score_fields,
        )
        return LeadRoutingOutcome(
            lead=locked, decision=decision, history=history, rules_fired=rules.fired, experiment=experiment
        )
    locked = _lock_lead(lead.pk)
    if locked.status not in (LeadStatus.NEW, LeadStatus.QUEUED):
        raise LeadNotRoutable(lead_id=lead.pk, status=locked.status)
    _apply_score(locked, scored, now)
    entry = lead_enqueue(
        lead=locked,
        queue_type=waiting.queue_type if waiting is not None else queue_type,
        sla=rules.sla_minutes,
        requirements=requirements,
        strategy=strategy,
        now=now,
        extra_fields=score_fields,
    )
    decision = record_decision(
        kind=LEADS,
        item_pk=locked.pk,
        strategy=strategy,
        ranking=found.ranking,
        winner=None,
        assignment=None,
        reason=f"no eligible agent with room; waiting in the {entry.queue_type} queue",
        started=started,
        ring_level=0,
        event=RoutingEventType.QUEUED,
        event_data={"queue_type": entry.queue_type, "sla_expiry": entry.sla_expiry.isoformat()},
        prerank=found.prerank,
        now=now,
    )
    return LeadRoutingOutcome(
        lead=locked, decision=decision, queue_entry=entry, rules_fired=rules.fired, experiment=experiment
    )


# --- outcomes ------------------------------------------------------------------------------------------

OUTCOMES = ("contacted", "converted", "lost")


@transaction.atomic
def lead_record_outcome(*, lead_id: Any, outcome: str, now: dt.datetime | None = None) -> Lead:
    """Record that the agent contacted the lead (it keeps its slot), or that it converted or was lost
    (the slot is released, the routing history row gets its conversion outcome, and the freed slot is
    offered to the waiting leads and cases)."""
    from routing.services.lead_queue import serve_freed_capacity

    now = now or timezone.now()
    lead = Lead.objects.filter(pk=lead_id).first()
    if lead is None:
        raise LeadNotFound(lead_id=lead_id)
    allowed = {
        "contacted": [LeadStatus.ASSIGNED],
        "converted": [LeadStatus.ASSIGNED, LeadStatus.CONTACTED],
        "lost": [LeadStatus.ASSIGNED, LeadStatus.CONTACTED],
    }[outcome]
    agent = lock_agent(lead.agent_id) if lead.agent_id else None  # the lock order: agent first
    lead = _lock_lead(lead.pk)
    if lead.status not in allowed or agent is None or agent.agent_id != lead.agent_id:
        raise InvalidLeadTransition(lead_id=lead.pk, outcome=outcome, status=lead.status)
    if outcome == "contacted":
        lead.status, lead.last_contacted_at = LeadStatus.CONTACTED, now
        lead.save(update_fields=["status", "last_contacted_at", "updated_at"])
        RoutingEvent.objects.create(
            lead=lead, event_type=RoutingEventType.CONTACTED, agent_id=agent.agent_id, created_at=now
        )
        return lead
    lead.status = LeadStatus.CONVERTED if outcome == "converted" else LeadStatus.LOST
    fields = ["status", "updated_at"]
    if lead.last_contacted_at is None:
        lead.last_contacted_at = now
        fields.append("last_contacted_at")
    lead.save(update_fields=fields)
    LeadRoutingHistory.objects.filter(lead=lead, released_at__isnull=True).update(
        conversion_outcome=ConversionOutcome.CONVERTED if outcome == "converted" else ConversionOutcome.LOST,
        outcome_at=now,
        released_at=now,
    )
    release_load(agent, now=now)
    RoutingEvent.objects.create(
        lead=lead,
        event_type=RoutingEventType.CONVERTED if outcome == "converted" else RoutingEventType.LOST,
        agent_id=agent.agent_id,
        created_at=now,
    )
    serve_freed_capacity(agent=agent, now=now, limit=1)
    return lead


__all__ = [
    "LEAD_RING",
    "OUTCOMES",
    "LeadRoutingOutcome",
    "QueueType",
    "assign_lead",
    "lead_create",
    "lead_record_outcome",
    "lead_route",
    "lead_score_compute",
    "lead_work",
    "rule_facts",
    "score_settings",
    "sla_minutes",
    "tier_conversion",
]
