"""Signals other apps listen to, so agents never imports routing.

They are sent inside the agents service's transaction, not after commit, while that service holds the
agent's availability row lock (the first lock of routing's lock order, routing.services): routing's
receivers act in the same transaction, under that lock, so what they do commits or rolls back with the
change that caused it.

- `agent_status_changed` (kwargs agent_id, previous_status, previous_since, status, now): the live
  status changed. Routing ends a difficult streak when the agent comes back rested.
- `agent_capacity_freed` (kwargs agent_id): the agent may take more work (became available, finished a
  break, capacity rose, schedule, skills or languages changed). Routing serves the queue to the agent;
  its receiver works in a savepoint and never fails the sender, and a dispatch that fails is logged and
  left to the next queue sweep.
- `agent_schedules_changed` (kwargs agent_id): schedule rows were written in bulk (nested set edits,
  restores), which send no post_save; routing forgets the schedule zones it remembers.
"""

from django.dispatch import Signal

agent_status_changed = Signal()
agent_capacity_freed = Signal()
agent_schedules_changed = Signal()
