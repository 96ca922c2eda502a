"""Rest ends a difficult streak (routing.engine.rules: the fatigue rule and what counts as rest).

Two ways an agent rests, each applied where it can be seen:
- away: on break or offline for at least ROUTING_FATIGUE_REST_MINUTES. When the agent comes back
  (agents.signals.agent_status_changed, in the transaction of the status change, before the agent is
  offered work) and, for agents still away, by the periodic sweep;
- off shift: outside every schedule window for at least that long, with no open work. Nobody writes
  anything when a shift ends, so the sweep finds these agents: those with a streak whose last difficult
  case is older than the rest period, checked against their schedule rows by the pure rule
  (routing.engine.schedule.off_shift_throughout, sampled each minute).
Both are set-based: one UPDATE for the away agents, one read of the candidates' schedules and one
UPDATE for those off shift.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef

from agents.models import AgentAvailability, AgentPerformance, AvailabilityStatus
from routing.engine.rules import streak_after_rest
from routing.engine.schedule import off_shift_throughout
from routing.selectors.schedules import schedule_rows_of
from routing.services.requests import fatigue_rest

AWAY_STATUSES = (AvailabilityStatus.BREAK, AvailabilityStatus.OFFLINE)
REST_SAMPLE = dt.timedelta(minutes=1)
REST_BATCH = 1000  # off-shift candidates checked per sweep


def rest_after_status_change(
    sender, *, agent_id: int, previous_status: str, previous_since: dt.datetime, now: dt.datetime, **kwargs
) -> None:
    """agents.signals.agent_status_changed receiver: coming back from break or offline after enough rest
    ends the agent's difficult streak (lockout included)."""
    if previous_status not in AWAY_STATUSES or previous_since is None:
        return
    if streak_after_rest(streak=1, rested=now - previous_since, min_rest=fatigue_rest()) == 0:
        AgentPerformance.objects.filter(agent_id=agent_id, consecutive_difficult_cases__gt=0).update(
            consecutive_difficult_cases=0
        )


def rest_fatigued_agents(*, now: dt.datetime) -> int:
    """Reset the streak of every agent who has rested (see the module docstring); returns how many."""
    rest = fatigue_rest()
    since = now - rest
    streaked = AgentPerformance.objects.filter(consecutive_difficult_cases__gt=0).exclude(
        last_difficult_case_at__gt=since
    )
    away = AgentAvailability.objects.filter(
        agent_id=OuterRef("agent_id"), status__in=AWAY_STATUSES, status_since__lte=since
    )
    rested = streaked.filter(Exists(away)).update(consecutive_difficult_cases=0)

    idle = AgentAvailability.objects.filter(agent_id=OuterRef("agent_id"), current_load=0)
    candidates = list(streaked.filter(Exists(idle)).values_list("agent_id", flat=True)[:REST_BATCH])
    if not candidates:
        return rested
    rows = schedule_rows_of(candidates)
    off_shift = [
        agent_id
        for agent_id in candidates
        if off_shift_throughout(rows.get(agent_id, []), since=since, until=now, step=REST_SAMPLE)
    ]
    if off_shift:
        rested += AgentPerformance.objects.filter(
            agent_id__in=off_shift, consecutive_difficult_cases__gt=0
        ).update(consecutive_difficult_cases=0)
    return rested
