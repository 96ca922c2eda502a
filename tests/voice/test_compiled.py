"""The hot paths' compiled SQL (voice.selectors.compiled) gives what the ORM gives, on random cases."""

from __future__ import annotations

import random

import pytest

from tests.factories.voice import (
    AgentConfigFactory,
    KnowledgeEntryFactory,
    LocationFactory,
    OrganizationFactory,
)
from voice.access import caller_for_organization
from voice.models import AgentConfig, KnowledgeCategory, KnowledgeEntry
from voice.selectors import config_active, knowledge_lookup
from voice.selectors.configs import ACTIVE_FOR_LOCATION, _active_for_location
from voice.selectors.knowledge import LOOKUPS, _lookup

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

TAGS = ["hours", "parking", "fees", "insurance", "wifi", "holiday"]
WORDS = ["parking", "garage", "fee", "cancellation", "insurance", "holiday", "open", "weekend"]


@pytest.fixture
def world():
    rng = random.Random(11)
    organizations = [OrganizationFactory() for _ in range(3)]
    locations = {org.pk: [LocationFactory(organization=org).pk for _ in range(3)] for org in organizations}
    for org in organizations:
        AgentConfigFactory(organization=org)
        AgentConfigFactory(organization=org, location_id=locations[org.pk][0])
        for number in range(40):
            KnowledgeEntryFactory(
                organization=org,
                location_id=rng.choice(locations[org.pk]) if rng.random() < 0.3 else None,
                category=rng.choice(KnowledgeCategory.values),
                title=" ".join(rng.sample(WORDS, 2)) + f" {number}",
                content=" ".join(rng.choices(WORDS, k=8)),
                tags=rng.sample(TAGS, 2),
                priority=rng.randint(0, 5),  # many ties: the order's tiebreaks matter
                is_active=rng.random() < 0.85,
            )
    return rng, organizations, locations


def test_the_compiled_knowledge_lookup_equals_the_orm(world) -> None:
    rng, organizations, locations = world
    for _ in range(150):
        org = rng.choice(organizations)
        values = {}
        if rng.random() < 0.7:
            values["category"] = rng.choice(KnowledgeCategory.values)
        if rng.random() < 0.6:
            values["tags"] = sorted(rng.sample(TAGS, rng.randint(1, 3)))
        if rng.random() < 0.4:
            values["query"] = rng.choice(["parking", "fee or holiday", '"parking garage"', "weekend -fee"])
        if rng.random() < 0.7:
            values["location"] = rng.choice(locations[org.pk])
        limit = rng.choice([1, 3, 5, 10])
        expected = list(_lookup(KnowledgeEntry.objects.filter(organization=org), limit=limit, **values))
        found = knowledge_lookup(
            caller=caller_for_organization(org),
            category=values.get("category"),
            tags=values.get("tags", []),
            query=values.get("query", ""),
            location_id=values.get("location"),
            limit=limit,
        )
        assert [(f.pk, f.title, f.tags, f.priority) for f in found] == [
            (e.pk, e.title, e.tags, e.priority) for e in expected
        ]
    assert LOOKUPS[5]._plans and all(
        plan is not None for plan in LOOKUPS[5]._plans.values()
    )  # compiled, not the fallback


def test_the_compiled_config_lookup_equals_the_orm(world) -> None:
    _, organizations, locations = world
    for org in organizations:
        for location in locations[org.pk]:
            expected = list(_active_for_location(organization=org.pk, location=location))
            found = config_active(caller=caller_for_organization(org), location_id=location).config
            assert found.pk == expected[0].pk and found.policies == expected[0].policies
            assert found.script_overrides == AgentConfig.objects.get(pk=found.pk).script_overrides
    assert all(plan is not None for plan in ACTIVE_FOR_LOCATION._plans.values())
