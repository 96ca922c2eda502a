"""A demo floor for a first run: routing works at any hour, and work trickles in.

The seed's roster (agents migration 0003) works 09:00-17:00 Los Angeles time, Monday to Friday, so on an
empty database a case routed at another hour only queues. `make run` adds this floor beside it (the
roster is left exactly as its migration made it): twelve agents in follow-the-sun shifts, 07:00-19:00
local time every day in zones three hours apart (each hour of the week is covered by at least three
of them), with the seed's skills and a few languages. `demo_trickle` then routes a demo case every few
seconds and completes some of the open ones, so the floor moves while a newcomer looks at it.

Everything is written through the services (agent_create, agent_set_status, case_route, case_complete),
so the demo obeys every rule the product does. Idempotent: agents already there are kept.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from agents.models import AgentAvailability, AvailabilityStatus, HumanAgent, SkillDomain
from agents.services import agent_create, agent_set_status
from routing.models import OPEN_ASSIGNMENT_STATUSES, CaseAssignment
from routing.services import CaseRequest, RoutingOutcome, case_complete, case_route

DEMO_PREFIX = "demo_"
SHIFT = (dt.time(7), dt.time(19))
# (zone, name, languages): zones about three hours apart, so any hour is inside several shifts.
DEMO_AGENTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("Pacific/Honolulu", "Keala Kahale", ("en",)),
    ("America/Los_Angeles", "Maya Ortiz", ("en", "es")),
    ("America/Chicago", "Jordan Ellis", ("en",)),
    ("America/Sao_Paulo", "Rafael Souza", ("pt", "en", "es")),
    ("Atlantic/Azores", "Inês Costa", ("pt", "en")),
    ("Europe/London", "Amelia Hart", ("en",)),
    ("Europe/Berlin", "Lukas Brandt", ("de", "en")),
    ("Asia/Dubai", "Omar Haddad", ("ar", "en")),
    ("Asia/Kolkata", "Priya Nair", ("hi", "en")),
    ("Asia/Singapore", "Wei Lim", ("zh", "en")),
    ("Asia/Tokyo", "Haruto Sato", ("ja", "en")),
    ("Australia/Sydney", "Chloe Martin", ("en",)),
]
SKILL_SETS = [
    ("technical", "billing", "general"),
    ("billing", "refunds", "account_management"),
    ("technical", "integrations", "product_support"),
    ("general", "billing", "product_support"),
]
WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _skills(index: int) -> list[dict]:
    domains = {domain.code: domain for domain in SkillDomain.objects.filter(code__in=SKILL_SETS[index % 4])}
    levels = ["advanced", "expert", "intermediate"]
    return [
        {"domain": domains[code], "proficiency": levels[(index + position) % 3]}
        for position, code in enumerate(SKILL_SETS[index % 4])
        if code in domains
    ]


@transaction.atomic
def demo_floor_ensure() -> int:
    """Create the demo agents that are missing (available, in shift every day); returns how many."""
    created = 0
    today = timezone.localdate()
    for index, (zone, name, languages) in enumerate(DEMO_AGENTS):
        code = f"{DEMO_PREFIX}{index + 1:02d}"
        if HumanAgent.objects.filter(code=code).exists():
            continue
        agent = agent_create(
            code=code,
            name=name,
            email=f"{code}@demo.switchboard.example",
            skill_level="senior" if index % 3 else "intermediate",
            department="Demo floor",
            max_concurrent_work=3 + index % 3,
            frustration_tolerance=("medium", "high", "low")[index % 3],
            skills=_skills(index),
            languages=[
                {"language_code": code_, "proficiency": "native" if not n else "fluent"}
                for n, code_ in enumerate(languages)
            ],
            schedules=[
                {
                    "day_of_week": day,
                    "start_time": SHIFT[0],
                    "end_time": SHIFT[1],
                    "timezone": zone,
                    "effective_from": today - dt.timedelta(days=1),
                }
                for day in WEEK
            ],
        )
        agent_set_status(agent=agent, status=AvailabilityStatus.AVAILABLE)
        created += 1
    return created


def demo_case_request(rng: random.Random, *, number: int) -> CaseRequest:
    skills = rng.choice([["technical"], ["billing"], ["general"], ["technical", "billing"], ["refunds"]])
    return CaseRequest(
        case_id=f"demo-{timezone.now():%Y%m%d%H%M%S}-{number}",
        customer_id=f"cust_{rng.randrange(1000, 9999)}",
        priority=rng.choices(["low", "medium", "high", "critical"], [50, 30, 15, 5])[0],
        complexity=rng.choices(["low", "medium", "high"], [40, 40, 20])[0],
        required_skills=skills,
        customer_frustration=rng.choices(["low", "moderate", "high", "critical"], [60, 25, 10, 5])[0],
        language="en",
        estimated_resolution_minutes=rng.choice([10, 20, 30]),
    )


def demo_trickle_step(rng: random.Random, *, number: int, complete_share: float = 0.5) -> RoutingOutcome:
    """Route one demo case and complete some of the demo floor's open work (by its agent)."""
    outcome = case_route(request=demo_case_request(rng, number=number))
    open_work = list(
        CaseAssignment.objects.filter(
            agent__code__startswith=DEMO_PREFIX, status__in=OPEN_ASSIGNMENT_STATUSES
        ).values_list("case_id", "pk")[:20]
    )
    for case_id, assignment_id in open_work:
        if rng.random() < complete_share:
            case_complete(
                case_id=case_id,
                assignment_id=assignment_id,
                csat_rating=rng.choices([5, 4, 3, 2], [45, 35, 15, 5])[0],
            )
    return outcome


def demo_floor_available() -> int:
    """How many demo agents take work now (for the first run's message)."""
    return AgentAvailability.objects.filter(
        AgentAvailability.TAKES_WORK, agent__code__startswith=DEMO_PREFIX
    ).count()
