from __future__ import annotations

import pytest

from tests.factories.routing import retire_seed_roster


@pytest.fixture
def lead_floor(db) -> None:
    """Only the agents a test creates take work (the seeded roster is retired)."""
    retire_seed_roster()
