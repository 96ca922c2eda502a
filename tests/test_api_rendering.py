"""config.api.rendered: its planned walk gives what DRF's own to_representation gives, key for key, for
nested sets, one-to-one rows (present and missing), dotted sources, method fields, related fields, a
Mapping and a serializer with its own to_representation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rest_framework import serializers

from agents.api.serializers import AgentAvailabilitySerializer, AgentSerializer
from agents.models import AgentAvailability, AgentPerformance
from agents.selectors import agent_list
from config.api import _compiled, rendered
from tests.factories import (
    AgentLanguageFactory,
    AgentScheduleFactory,
    AgentSkillFactory,
    AgentSpecializationFactory,
    HumanAgentFactory,
)

pytestmark = pytest.mark.django_db


def _drf(serializer_class, instance):
    return serializer_class(instance).data


def _plain(value):
    """DRF's ReturnDict/OrderedDict and lists as plain dicts and lists, as the JSON renderer sees them."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def test_an_agent_with_its_sets_renders_as_drf_renders_it():
    agent = HumanAgentFactory(base_hourly_rate=Decimal("17.50"), hire_date=dt.date(2021, 3, 4))
    AgentSkillFactory(agent=agent, years_experience=Decimal("2.5"), last_updated=dt.date(2026, 2, 3))
    AgentLanguageFactory(agent=agent, language_code="es")
    AgentSpecializationFactory(agent=agent, languages=["en"], territories=["US-CA"])
    AgentScheduleFactory(agent=agent, start_time=dt.time(9, 30), end_time=dt.time(17))
    bare = HumanAgentFactory()
    AgentAvailability.objects.filter(agent=bare).delete()  # a missing one-to-one renders as null
    AgentPerformance.objects.filter(agent=bare).delete()

    for code in (agent.code, bare.code):
        found = agent_list().get(code=code)
        assert rendered(AgentSerializer, found) == _plain(_drf(AgentSerializer, found))
    assert rendered(AgentSerializer, agent_list().order_by("code"), many=True) == [
        _plain(_drf(AgentSerializer, found)) for found in agent_list().order_by("code")
    ]


def test_a_dotted_source_and_a_missing_attribute_follow_drf():
    availability = AgentAvailability.objects.select_related("agent").get(agent=HumanAgentFactory())

    assert rendered(AgentAvailabilitySerializer, availability) == _plain(
        _drf(AgentAvailabilitySerializer, availability)
    )


class _Shapes(serializers.Serializer):
    name = serializers.CharField()
    shout = serializers.SerializerMethodField()
    agent = serializers.SlugRelatedField(slug_field="code", read_only=True)
    agent_pk = serializers.PrimaryKeyRelatedField(source="agent", read_only=True)
    size = serializers.IntegerField(source="get_size")
    missing = serializers.CharField(required=False)
    fallback = serializers.CharField(default="dflt")

    def get_shout(self, instance) -> str:
        return (instance["name"] if isinstance(instance, dict) else instance.name).upper()


class _Thing:
    def __init__(self, name, agent):
        self.name, self.agent = name, agent

    def get_size(self) -> int:
        return len(self.name)


class _Custom(serializers.Serializer):
    name = serializers.CharField()

    def to_representation(self, instance):
        return {"custom": instance["name"]}


def test_method_related_callable_default_and_skipped_fields_follow_drf():
    agent = HumanAgentFactory()
    render = _compiled(_Shapes())

    for thing in (_Thing("ada", agent), _Thing("bob", None)):
        assert render(thing) == _plain(_Shapes(thing).data)
    mapping = {"name": "cy", "agent": None, "get_size": 2}
    assert render(mapping) == _plain(_Shapes(mapping).data)
    assert _compiled(_Custom())({"name": "z"}) == {"custom": "z"}
    assert _compiled(_Custom(many=True))([{"name": "z"}]) == [{"custom": "z"}]


def test_a_decision_with_stored_candidates_and_prerank_renders_as_drf_renders_it():
    from routing.api.serializers.outputs import RoutingDecisionSerializer
    from tests.factories.routing import RoutingDecisionFactory

    decision = RoutingDecisionFactory(
        candidates=[
            {"agent_id": 1, "agent_code": "a", "total": 0.5, "factors": {"skill": 1.0}, "details": {}}
        ],
        candidate_count=1,
        prerank={"pool": 50, "pool_full": False, "eligible": 1},
    )

    assert rendered(RoutingDecisionSerializer, decision) == _plain(_drf(RoutingDecisionSerializer, decision))
