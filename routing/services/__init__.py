"""Every write of routing: route a case, start and complete it, serve and sweep the escalation queue.

Lock order, one for every writer here and in agents.services:
1. the agent's AgentAvailability row: the lock that guards its capacity and live status; several
   agents one at a time in agent_id order;
2. the agent's HumanAgent row (only agent edits lock it);
3. work rows: the case, its assignment, its queue entry.
Every lock is FOR NO KEY UPDATE (`select_for_update(no_key=True)`, or `lock_agent`): none of these rows
is deleted by its locker, and FOR UPDATE would also block the FOR KEY SHARE lock a foreign-key check
takes (inserting an assignment checks its agent and case), which deadlocked an agent edit holding the
agent row against a router holding the availability row. Plain UPDATEs that do not touch a key take the
same NO KEY lock implicitly. Routers lock candidates with skip_locked and re-check every eligibility
rule under the lock: a candidate taken by a concurrent router is skipped and the next one tried. Queue
entries are locked with skip_locked too, so two dispatchers never serve one entry. On SQLite row locks
do not exist; the IMMEDIATE transactions configured in settings serialise writers, which keeps the same
invariants.

Load is changed with F() updates under the agent's lock and without simple_history (the load changes
on every assignment; its history would dwarf the table). Status changes made here follow the same path.

Choices documented here:
- Start and complete name the assignment (its id, or the acting agent): a late action on a case that was
  taken back and given to someone else is a 409 `stale_assignment`, never an action on the other
  agent's assignment.
- A completion with `escalated=True` ends the assignment with status `escalated` (and escalated=True);
  otherwise `completed`. Both are terminal, free capacity and close the case (case status completed).
- A case may be completed from `assigned` (never started): resolution time then counts from assignment.
- Serving order is a guarantee (routing.services.queue): an agent who may take work is offered the queue
  first, and new work goes to an agent only when nothing ahead of it in the queue is work that agent can
  serve.
- Queue dispatch (sweep, completion, timeout reroute) routes a waiting case with the strategy (and its
  parameters) it was routed with (EscalationQueueEntry.routing_strategy; blank: the default).
- An overdue entry is escalated when its next_escalation_at passes (first at queued_at + max_wait),
  one priority step per sweep, and is next escalated max_wait after that sweep (priority caps at
  critical, the count keeps rising). A sweep never raises one entry twice.
- A status a person or an integration set (manual_override) is theirs: routing never routes to their
  `busy` and never turns it back; only routing's own busy at capacity becomes available again.
- Dispatch happens in the transaction of the change that freed capacity: a completion dispatches one
  entry (it freed one slot); an agent becoming available or getting more capacity or new skills or
  schedules is served up to its free slots (agents.services sends agent_capacity_freed inside its
  transaction). The sweep offers the rest.
- Fatigue: routing.engine.rules states the rule; completions update the streak here, rest resets it
  (routing.services.fatigue).
- A supervisor's hand assignment keeps capacity and refuses the seed's "never" rules (critical
  frustration to low tolerance, difficult work to a locked-out agent) unless given an override reason,
  which the decision and the event record.
- Queued entries get estimated_assignment_at (routing.services.queue.estimate_assignment_at) when they
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
from routing.services.requests import CaseRequest, RoutingOutcome, validate_case_request
from routing.services.sweep import SweepReport, queue_sweep

__all__ = [
    "CaseRequest",
    "RoutingOutcome",
    "SweepReport",
    "case_complete",
    "case_route",
    "case_start",
    "on_agent_capacity_freed",
    "queue_dispatch_for_agent",
    "queue_entry_assign",
    "queue_entry_cancel",
    "queue_entry_requeue",
    "queue_sweep",
    "validate_case_request",
]
