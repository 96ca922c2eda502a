"""Fixtures of the routing tests."""

from __future__ import annotations

import pytest

from tests.factories import SkillDomainFactory
from tests.factories.routing import retire_seed_roster


@pytest.fixture
def routing_floor(db) -> None:
    """Only the agents a test creates take work (the seeded roster is retired), with the skill domains
    the routing service tests ask for."""
    retire_seed_roster()
    for code in ("billing", "refunds", "technical"):
        SkillDomainFactory(code=code)
