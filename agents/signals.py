"""Signals other apps listen to, so agents never imports routing.

`agent_capacity_freed` is sent after commit when an agent may take more work (became available, finished
a break, capacity rose); routing connects it to queue dispatch.
"""

from django.dispatch import Signal

agent_capacity_freed = Signal()  # kwargs: agent_id: int
