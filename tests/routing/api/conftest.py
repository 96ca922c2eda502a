"""Fixtures of the routing API tests: the seeded roster goes offline, the skill domains exist."""

from __future__ import annotations

import pytest

from agents.models import AgentAvailability, AvailabilityStatus
from tests.factories.agents import (
    SkillDomainFactory,
)


@pytest.fixture(autouse=True)
def roster_offline(db) -> None:
    """The seeded roster (agents migration 0003) goes offline: each test staffs the floor it needs."""
    AgentAvailability.objects.update(status=AvailabilityStatus.OFFLINE)


@pytest.fixture
def billing() -> None:
    SkillDomainFactory(code="billing")
    SkillDomainFactory(code="technical")
