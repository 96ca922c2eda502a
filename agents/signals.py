"""Signals other apps listen to, so agents never imports routing.

`agent_capacity_freed` is sent when an agent may take more work (became available, finished a break,
capacity rose). It is sent inside the agents service's transaction, not after commit, while that service
holds the agent's row lock (agents.services `_notify_capacity_freed`): routing's receiver serves the
queue to the agent in the same transaction, under that lock, so the dispatch commits or rolls back with
the change that freed the capacity, and routing's lock order (agent, then case, then queue) holds because
the agent's row is already locked. The receiver works in a savepoint and never fails the sender; a
dispatch that fails is logged and left to the next queue sweep.
"""

from django.dispatch import Signal

agent_capacity_freed = Signal()  # kwargs: agent_id: int
