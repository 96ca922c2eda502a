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


def _record(row) -> dict:
    return {
        field.attname: getattr(row, field.attname)
        for field in type(row)._meta.concrete_fields
        if field.attname not in ("history_id", "history_date", "last_status_change", "status_since")
    }


@pytest.mark.django_db
@pytest.mark.postgres
def test_update_with_history_writes_what_save_writes_in_one_statement(django_assert_num_queries, rf):
    """The one-statement path (PostgreSQL) against simple_history's own, for the same change by the same
    user with a change reason."""
    from django.contrib.auth import get_user_model
    from simple_history.models import HistoricalRecords as Base

    from config.history import update_with_history

    user = get_user_model().objects.create_user("sup")
    request = rf.patch("/")
    request.user = user
    fields = ["status", "override_reason", "last_status_change"]
    rows = []
    Base.context.request = request
    try:
        for fast in (True, False):
            availability = AgentAvailability.objects.get(agent=HumanAgentFactory())
            availability.status, availability.override_reason = AvailabilityStatus.BREAK, "lunch"
            availability._change_reason = "by hand"
            if fast:
                with django_assert_num_queries(1):
                    update_with_history(availability, update_fields=fields)
            else:
                availability.save(update_fields=fields)
            stored = AgentAvailability.objects.get(pk=availability.pk)
            assert (stored.status, stored.override_reason) == ("break", "lunch")
            assert stored.last_status_change == availability.last_status_change  # auto_now, as save() sets it
            rows.append(availability.history.latest("history_id"))
    finally:
        del Base.context.request
    fast_row, orm_row = rows
    assert (fast_row.history_type, fast_row.history_user_id, fast_row.history_change_reason) == (
        "~",
        user.pk,
        "by hand",
    )
    assert {**_record(fast_row), "agent_id": None} == {**_record(orm_row), "agent_id": None}


@pytest.mark.django_db
def test_update_with_history_saves_through_the_orm_where_it_must():
    """Elsewhere than PostgreSQL, or with history skipped, it is save(): same row, same record (or none)."""
    from config.history import update_with_history

    availability = AgentAvailability.objects.get(agent=HumanAgentFactory())
    before = availability.history.count()
    availability.skip_history_when_saving = True
    availability.status = AvailabilityStatus.OFFLINE
    update_with_history(availability, update_fields=["status"])

    assert AgentAvailability.objects.get(pk=availability.pk).status == "offline"
    assert availability.history.count() == before
