"""The published OpenAPI schema is written for integrators: no notes for the project's developers.

Every description, summary and title the schema (/api/schema/, /api/docs/) carries is scanned for what
only a developer of this codebase would read: dotted module paths (routing.engine.rules.x), the names
of the frameworks and their internals (DRF, ORM, querysets, serializers), query counting.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db

# A module path: two or more dots between lower-case identifiers with an underscore or a known package
# name in them (e.g. routing.engine.rules.parse_special_requirements, config.inputs.StrictInput); not a
# JSON path an integrator sends (policies.escalation_policy.max_failed_attempts names body keys).
MODULE_PATH = re.compile(r"\b(?:agents|routing|voice|scoring|config|dbmove|rest_framework|django)(?:\.\w+)+")
DEVELOPER_WORDS = re.compile(
    r"\bDRF\b|\bORM\b|query per row|queries per|\bqueryset|select_related|prefetch|\bserializer|\bdocstring"
    r"|\bselector\b|\bN\+1\b|\bmixin\b|\bsubquer",
    re.IGNORECASE,
)


def published_texts(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "summary", "title") and isinstance(value, str):
                yield f"{path}/{key}", value
            else:
                yield from published_texts(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from published_texts(value, f"{path}[{index}]")


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict[str, Any]:
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def test_schema_names_no_module_paths(schema: dict[str, Any]):
    found = [
        (where, match.group(0))
        for where, text in published_texts(schema)
        for match in MODULE_PATH.finditer(text)
    ]
    assert found == []


def test_schema_carries_no_developer_notes(schema: dict[str, Any]):
    found = [
        (where, match.group(0))
        for where, text in published_texts(schema)
        for match in DEVELOPER_WORDS.finditer(text)
    ]
    assert found == []


def test_the_scan_finds_a_developer_note():
    # The scan itself: a description as the schema once had it is caught.
    notes = {
        "description": "DRF relaxes required fields; see routing.engine.rules.parse_special_requirements"
    }
    texts = [text for _, text in published_texts({"components": {"X": notes}})]
    assert MODULE_PATH.search(texts[0]) and DEVELOPER_WORDS.search(texts[0])


# --- the browsable API ----------------------------------------------------------------------------


def test_browsable_api_titles_read_as_words(supervisor_client):
    page = supervisor_client.get("/api/v1/routing/queue/", HTTP_ACCEPT="text/html").content.decode()
    route = supervisor_client.get("/api/v1/routing/cases/", HTTP_ACCEPT="text/html").content.decode()

    assert "Waiting cases in serving order" in page
    assert "Route a case" in route
    assert "Case Route Api" not in route and "Queue List Api" not in page


def test_every_link_of_the_browsable_roots_opens(supervisor_client):
    # given the API root and the routing, automation, outbound and voice indexes, as a signed-in person
    # explores them
    root = supervisor_client.get("/api/v1/").json()
    routing = supervisor_client.get(root["routing"]).json()
    automation = supervisor_client.get(root["automation"]).json()
    scoring = supervisor_client.get(root["scoring"]).json()
    voice = supervisor_client.get(root["voice"]).json()

    # then every link answers GET (no 405 for an operation that only takes POST, no 404); the outbound
    # queue, read one queue type at a time, answers a 400 that names the parameter to add
    for url in [*root.values(), *routing.values(), *automation.values(), *scoring.values(), *voice.values()]:
        response = supervisor_client.get(url)
        if response.status_code == 400:
            assert list(response.json()["fields"]) == ["queue_type"], url
            continue
        assert response.status_code == 200, url
    assert routing["queue"].endswith("/api/v1/routing/queue/")
    # the outbound index links its queue with a queue type, so that link opens as it is
    assert supervisor_client.get(scoring["queue"]).status_code == 200
    assert automation["tasks"].endswith("/api/v1/automation/tasks/")
    assert voice["knowledge"].endswith("/api/v1/voice/knowledge/")
