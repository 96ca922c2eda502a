"""Feature flags (ENABLE_LOCATIONS, ENABLE_AGENT_CONFIGS, ENABLE_TELEMETRY, ENABLE_KNOWLEDGE_BASE):
off, a feature's API answers 404 and its admin pages are gone; its data stays; the others work."""

from __future__ import annotations

import importlib
import sys

import pytest
from django.test import Client
from django.urls import reverse

from voice.models import AgentConfig, Call, KnowledgeEntry, Location

pytestmark = pytest.mark.django_db

V = "/api/v1/voice/"

FEATURES = {
    "locations": (
        ["locations/", "services/", "providers/", "appointments/"],
        ["location", "service", "provider", "appointment"],
        Location,
    ),
    "agent_configs": (["configs/", "configs/active/"], ["agentconfig"], AgentConfig),
    "telemetry": (["calls/", "calls/analytics/"], ["call"], Call),
    "knowledge_base": (["knowledge/", "knowledge/lookup/"], ["knowledgeentry"], KnowledgeEntry),
}


@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_a_disabled_feature_answers_404_and_leaves_its_data(
    feature, settings, client_a, manager_a, tenant_a
) -> None:
    paths, models, model = FEATURES[feature]
    count = model.objects.count()
    settings.VOICE_FEATURES = {**settings.VOICE_FEATURES, feature: False}
    for path in paths:
        response = client_a.get(V + path)
        assert response.status_code == 404 and response.json() == {
            "detail": "Not found.",
            "code": "not_found",
            "fields": {},
        }
    assert client_a.post(V + paths[0], {}, format="json").status_code == 404
    admin = Client()
    admin.force_login(manager_a)
    index = admin.get(reverse("admin:index")).content.decode()
    for name in models:
        assert reverse(f"admin:voice_{name}_changelist") not in index
        assert admin.get(reverse(f"admin:voice_{name}_changelist")).status_code == 404
        assert admin.get(reverse(f"admin:voice_{name}_add")).status_code == 404
    assert model.objects.count() == count
    # the other features still answer
    others = [f for f in FEATURES if f != feature]
    for other in others:
        assert client_a.get(V + FEATURES[other][0][0]).status_code == 200
    settings.VOICE_FEATURES = {**settings.VOICE_FEATURES, feature: True}
    assert client_a.get(V + paths[0]).status_code == 200  # back on: the data is there again


def test_a_disabled_feature_answers_404_before_asking_who_is_calling(settings, api_client) -> None:
    settings.VOICE_FEATURES = {**settings.VOICE_FEATURES, "telemetry": False}
    assert api_client.get(f"{V}calls/").status_code == 404
    settings.VOICE_FEATURES = {**settings.VOICE_FEATURES, "telemetry": True}
    assert api_client.get(f"{V}calls/").status_code == 401


def test_the_flags_are_read_from_the_environment_and_default_on(monkeypatch) -> None:
    for name in ("ENABLE_LOCATIONS", "ENABLE_AGENT_CONFIGS", "ENABLE_TELEMETRY", "ENABLE_KNOWLEDGE_BASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENABLE_TELEMETRY", "false")
    package = importlib.import_module("config.settings")
    monkeypatch.setattr(package, "base", sys.modules["config.settings.base"])
    monkeypatch.delitem(sys.modules, "config.settings.base")
    fresh = importlib.import_module("config.settings.base")
    assert fresh.VOICE_FEATURES == {
        "locations": True,
        "agent_configs": True,
        "telemetry": False,
        "knowledge_base": True,
    }
