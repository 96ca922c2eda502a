"""Reads routing depends on: the candidate agents for a case, the queue in serving order, a case page.

- `candidates`: every hard rule in SQL, a bounded pool, a pre-rank, then the pure engine;
- `schedules`: who is inside a working window now, in their own time zone;
- `queue`: the escalation queue in serving order, read as index ranges, and an entry's position;
- `cases`: one case with its assignments, queue entries and decisions.

Nothing here locks; the locking reads live in routing.services.
"""

from routing.selectors.candidates import (
    CandidateSearch,
    Funnel,
    agent_candidates,
    agent_profile,
    candidate_funnel,
    candidate_pool,
)
from routing.selectors.cases import case_detail
from routing.selectors.queue import (
    QueueCursor,
    ahead_of,
    assignable_agents,
    queue_position,
    queue_scan,
    queue_serving_order,
    queue_waiting,
)
from routing.selectors.schedules import schedule_zones_in_use

__all__ = [
    "CandidateSearch",
    "Funnel",
    "QueueCursor",
    "ahead_of",
    "assignable_agents",
    "agent_candidates",
    "agent_profile",
    "candidate_funnel",
    "candidate_pool",
    "case_detail",
    "queue_position",
    "queue_scan",
    "queue_serving_order",
    "queue_waiting",
    "schedule_zones_in_use",
]
