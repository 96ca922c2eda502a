"""Who may be called now, and the callback rules.

A person may be called when all hold (each failure is an `Exclusion` with a code):
- `outside_window`: their local time is inside the calling window (see `windows`); an unknown zone is
  `invalid_time_zone` and never callable;
- `max_attempts`: fewer than `max_attempts` calls in the current cycle (the periodic reset starts a new
  cycle);
- `recall_gap`: never called, or last called at least `min_recall_gap` ago.

Callbacks (a queue entry with a callback id):
- due when its scheduled time has come; a legacy callback converted by the upgrade has no known time and
  is due at once;
- a callback promised by one agent is that agent's only until `handover_delay` after its time; then it is
  handed over to anyone (the `callbacks_hand_over` sweep records when);
- overdue: due and past the hand-over delay.

`CallPolicy.cutoffs(now)` turns the same rules into the values a set-based SQL filter needs, so the queue
query and `exclusions` cannot drift apart (tests compare them over random people).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from scoring.engine.windows import CallingWindow, is_valid_zone, known_zones, open_zones, window_is_open


class Exclusion:
    OUTSIDE_WINDOW = "outside_window"
    INVALID_TIME_ZONE = "invalid_time_zone"
    MAX_ATTEMPTS = "max_attempts"
    RECALL_GAP = "recall_gap"


@dataclass(frozen=True)
class PolicyCutoffs:
    """The rules as SQL-ready values at one instant."""

    now: dt.datetime
    open_zones: frozenset[str]
    max_attempts: int
    last_call_before: dt.datetime  # callable if last_call_at is NULL or <= this
    handover_scheduled_before: dt.datetime  # an agent-only callback scheduled <= this is anyone's


@dataclass(frozen=True)
class CallPolicy:
    window: CallingWindow = field(default_factory=CallingWindow)
    max_attempts: int = 6
    min_recall_gap: dt.timedelta = dt.timedelta(hours=4)
    handover_delay: dt.timedelta = dt.timedelta(minutes=30)

    def cutoffs(self, now: dt.datetime, zones: Iterable[str] | None = None) -> PolicyCutoffs:
        return PolicyCutoffs(
            now=now,
            open_zones=open_zones(now, self.window, known_zones() if zones is None else zones),
            max_attempts=self.max_attempts,
            last_call_before=now - self.min_recall_gap,
            handover_scheduled_before=now - self.handover_delay,
        )


def exclusions(
    *,
    time_zone: str,
    call_attempts: int,
    last_call_at: dt.datetime | None,
    now: dt.datetime,
    policy: CallPolicy,
) -> list[str]:
    """Why this person may not be called now (empty: callable)."""
    reasons: list[str] = []
    if not is_valid_zone(time_zone):
        reasons.append(Exclusion.INVALID_TIME_ZONE)
    elif not window_is_open(now, time_zone, policy.window):
        reasons.append(Exclusion.OUTSIDE_WINDOW)
    if call_attempts >= policy.max_attempts:
        reasons.append(Exclusion.MAX_ATTEMPTS)
    if last_call_at is not None and last_call_at > now - policy.min_recall_gap:
        reasons.append(Exclusion.RECALL_GAP)
    return reasons


@dataclass(frozen=True)
class CallbackState:
    due: bool
    handed_over: bool  # an agent-only callback now open to anyone
    overdue: bool

    def visible_to(self, *, callback_agent_id: object | None, agent_id: object | None) -> bool:
        """May `agent_id` take this callback now?"""
        return self.due and (callback_agent_id is None or callback_agent_id == agent_id or self.handed_over)


def callback_state(
    *,
    scheduled_for: dt.datetime | None,
    callback_agent_id: object | None,
    now: dt.datetime,
    policy: CallPolicy,
) -> CallbackState:
    if scheduled_for is None:  # a legacy callback whose time was never recorded
        return CallbackState(due=True, handed_over=callback_agent_id is not None, overdue=True)
    due = scheduled_for <= now
    past_delay = scheduled_for <= now - policy.handover_delay
    return CallbackState(
        due=due, handed_over=callback_agent_id is not None and past_delay, overdue=past_delay
    )
