"""config.history: the history manager's class is built once per model, and history reads and writes as
simple_history's own descriptor does."""

import pytest
from simple_history.manager import HistoryManager

from agents.models import AgentAvailability, AvailabilityStatus, HumanAgent
from agents.services import agent_availability_update
from tests.factories.agents import HumanAgentFactory


def test_every_access_gets_a_manager_of_one_class():
    first, second = HumanAgent.history, HumanAgent.history

    assert first is not second  # a manager per access, as before (it may be bound to an instance)
    assert type(first) is type(second)
    assert isinstance(first, HistoryManager)


@pytest.mark.django_db
def test_history_is_written_and_read_per_instance():
    agent = HumanAgentFactory(availability__status=AvailabilityStatus.OFFLINE)

    agent_availability_update(code=agent.code, status=AvailabilityStatus.BREAK)

    availability = AgentAvailability.objects.get(agent=agent)
    assert [row.status for row in availability.history.order_by("history_date")][-1] == "break"
    assert availability.history.count() == AgentAvailability.history.filter(agent_id=agent.pk).count()
    assert availability.history.instance == availability
