"""Every write of routing: route a case, start and complete it, serve and sweep the escalation queue.

Locking (shared with agents.services): an agent's AgentAvailability row is the lock that guards its
capacity, and it is always taken before any case, assignment or queue row; when several agents are
involved they are locked one at a time in agent_id order. Routers lock candidates with
`select_for_update(skip_locked=True, of=("self",))` and re-check status and load under the lock: a
candidate taken by a concurrent router is skipped and the next one tried. Queue entries are locked with
skip_locked too, so two dispatchers never serve one entry. On SQLite row locks do not exist; the
IMMEDIATE transactions configured in settings serialise writers, which keeps the same invariants.

Load is changed with F() updates under the row lock and without simple_history (the load changes on
every assignment; its history would dwarf the table). Status changes made here follow the same path.

Choices documented here:
- A completion with `escalated=True` ends the assignment with status `escalated` (and escalated=True);
  otherwise `completed`. Both are terminal, free capacity and close the case (case status completed).
- A case may be completed from `assigned` (never started): resolution time then counts from assignment.
- Queue dispatch (sweep, completion, timeout reroute) routes a waiting case with the strategy it was
  routed with (EscalationQueueEntry.routing_strategy; blank, for entries older than that column: the
  configured default).
- An overdue entry is escalated when its next_escalation_at passes (first at queued_at + max_wait),
  one priority step per sweep, and is next escalated max_wait after that sweep (priority caps at
  critical, the count keeps rising). A sweep never raises one entry twice.
- `busy` set by a supervisor (manual override) is not routable; `busy` set by routing at capacity is,
  once a case completes.
- Dispatch happens in the transaction of the change that freed capacity: a completion dispatches one
  entry (it freed one slot); an agent becoming available or getting more capacity is served up to its
  free slots (agents.services sends agent_capacity_freed inside its transaction). The sweep offers the
  rest.
- Fatigue: the difficult streak counts difficult cases completed since the last break (an easy case in
  between does not end it; agents.services.agent_set_status(BREAK) does) plus difficult cases open now.
  Routing re-checks it, and the schedule window, under the agent's row lock.
- Queued entries get estimated_assignment_at (routing.services.queue._estimate_assignment_at) when they
  are queued, requeued or taken back and not dispatched at once.
"""

from routing.services.cases import case_complete, case_route, case_start
from routing.services.queue import (
    on_agent_capacity_freed,
    queue_dispatch_for_agent,
    queue_entry_assign,
    queue_entry_cancel,
    queue_entry_requeue,
)
from routing.services.requests import CaseRequest, RoutingOutcome, _validate_request
from routing.services.sweep import SweepReport, queue_sweep

__all__ = [
    "CaseRequest",
    "RoutingOutcome",
    "SweepReport",
    "_validate_request",
    "case_complete",
    "case_route",
    "case_start",
    "on_agent_capacity_freed",
    "queue_dispatch_for_agent",
    "queue_entry_assign",
    "queue_entry_cancel",
    "queue_entry_requeue",
    "queue_sweep",
]
