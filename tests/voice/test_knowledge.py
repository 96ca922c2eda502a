"""The knowledge base: the lookup (its filters and order), full-text search and its SQLite fallback,
the PostgreSQL indexes, the API and the audited history."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.factories.voice import KnowledgeEntryFactory, LocationFactory
from voice.access import caller_for_organization
from voice.models import KnowledgeEntry
from voice.selectors import knowledge_lookup, search_fallback_groups
from voice.selectors.knowledge import SearchTerm

pytestmark = pytest.mark.django_db

URL = "/api/v1/voice/knowledge/"


def titles(facts) -> list[str]:
    return [fact.title for fact in facts]


@pytest.fixture
def facts(org_a, org_b):
    downtown, cambridge = LocationFactory(organization=org_a), LocationFactory(organization=org_a)
    make = KnowledgeEntryFactory
    make(
        organization=org_a,
        category="faq",
        title="Parking",
        content="Free parking behind the building.",
        tags=["parking"],
        priority=70,
    )
    make(
        organization=org_a,
        category="faq",
        title="Hours",
        content="Open weekdays nine to five.",
        tags=["hours"],
        priority=90,
    )
    make(
        organization=org_a,
        category="faq",
        title="Downtown garage",
        content="Use the Common garage for parking.",
        tags=["parking", "directions"],
        priority=80,
        location=downtown,
    )
    make(
        organization=org_a,
        category="faq",
        title="Cambridge lot",
        content="Parking lot at the back.",
        tags=["parking"],
        priority=95,
        location=cambridge,
    )
    make(
        organization=org_a,
        category="faq",
        title="Old parking note",
        content="Parking is closed.",
        tags=["parking"],
        priority=99,
        is_active=False,
    )
    make(
        organization=org_a,
        category="policies",
        title="Cancellation fee",
        content="A $40 fee applies to late cancellations.",
        tags=["fees", "cancellation"],
        priority=60,
    )
    make(
        organization=org_b,
        category="faq",
        title="Globex parking",
        content="Parking everywhere.",
        tags=["parking"],
        priority=100,
    )
    return downtown, cambridge


def test_the_lookup_filters_category_tags_location_and_activity_in_priority_order(org_a, facts) -> None:
    downtown, _ = facts
    caller = caller_for_organization(org_a)
    found = knowledge_lookup(
        caller=caller, category="faq", tags=["parking", "hours"], location_id=downtown.pk
    )
    # The other location's fact, the inactive one and the other organization's never appear.
    assert titles(found) == ["Hours", "Downtown garage", "Parking"]
    assert titles(knowledge_lookup(caller=caller, category="faq", tags=["parking"])) == [
        "Parking"
    ]  # org-wide only
    assert titles(knowledge_lookup(caller=caller, category="faq", limit=1)) == ["Hours"]


def test_tags_are_matched_normalised(org_a, facts) -> None:
    caller = caller_for_organization(org_a)
    assert titles(knowledge_lookup(caller=caller, tags=[" Cancellation "])) == ["Cancellation fee"]


def test_equal_priorities_come_out_newest_first_every_time(org_a) -> None:
    older = KnowledgeEntryFactory(organization=org_a, title="older", priority=50)
    newer = KnowledgeEntryFactory(organization=org_a, title="newer", priority=50)
    KnowledgeEntry.objects.filter(pk=older.pk).update(updated_at=newer.updated_at.replace(year=2020))
    assert titles(knowledge_lookup(caller=caller_for_organization(org_a))) == ["newer", "older"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("parking", ["Parking"]),
        ("PARKING building", ["Parking"]),
        ("late cancellations", ["Cancellation fee"]),
        ('"late cancellations"', ["Cancellation fee"]),
        ("parking or fee", ["Cancellation fee", "Parking"]),
        ("parking -building", []),
        ("the", []),  # only a stop word: nothing to search for
        ("weekdays", ["Hours"]),
    ],
)
def test_text_queries_mean_the_same_on_both_databases(org_a, facts, query, expected) -> None:
    found = knowledge_lookup(caller=caller_for_organization(org_a), query=query)
    assert sorted(titles(found)) == sorted(expected)


@pytest.mark.postgres
def test_postgres_stems_words_with_the_stored_search_vector(org_a, facts) -> None:
    caller = caller_for_organization(org_a)
    assert titles(knowledge_lookup(caller=caller, query="parked")) == ["Parking"]  # park
    assert titles(knowledge_lookup(caller=caller, query="cancelling")) == ["Cancellation fee"]
    vector = KnowledgeEntry.objects.filter(title="Parking").values_list("search_vector", flat=True).get()
    assert "'park':1A,3B" in vector and "'build':6B" in vector  # title weighted A, content B


@pytest.mark.postgres
def test_a_title_match_ranks_above_a_content_match_of_equal_priority(org_a) -> None:
    KnowledgeEntryFactory(organization=org_a, title="Garage", content="Parking for visitors.", priority=50)
    KnowledgeEntryFactory(organization=org_a, title="Parking", content="Ask at the desk.", priority=50)
    assert titles(knowledge_lookup(caller=caller_for_organization(org_a), query="parking")) == [
        "Parking",
        "Garage",
    ]


@pytest.mark.postgres
def test_the_gin_indexes_exist_on_postgres() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'voice_knowledgeentry'")
        indexes = dict(cursor.fetchall())
    assert "USING gin (search_vector)" in indexes["voice_knowledge_search_gin"]
    assert "USING gin (tags)" in indexes["voice_knowledge_tags_gin"]


@pytest.mark.postgres
def test_postgres_serves_the_tag_and_text_filters_from_the_gin_indexes(org_a, facts) -> None:
    queryset = KnowledgeEntry.objects.filter(search_vector__isnull=False)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in (
            "EXPLAIN SELECT id FROM voice_knowledgeentry WHERE tags ?| ARRAY['parking']",
            "EXPLAIN SELECT id FROM voice_knowledgeentry WHERE search_vector @@ websearch_to_tsquery('english', 'parking')",
        ):
            cursor.execute(sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "_gin" in plan, plan
    assert queryset.exists()


def test_the_fallback_reads_phrases_exclusions_and_alternatives() -> None:
    assert search_fallback_groups('Where is the "walk-in" entrance -closed or parking?') == [
        [SearchTerm("walk in"), SearchTerm("entrance"), SearchTerm("closed", negated=True)],
        [SearchTerm("parking")],
    ]
    assert search_fallback_groups("-fee") == []  # only an exclusion: nothing to find


def test_the_lookup_is_one_query(org_a, facts, django_assert_num_queries) -> None:
    caller = caller_for_organization(org_a)
    with django_assert_num_queries(1):
        knowledge_lookup(
            caller=caller, category="faq", tags=["parking"], query="parking", location_id=facts[0].pk
        )


# --- API and history -------------------------------------------------------------------------------------


def test_the_lookup_endpoint(client_a, facts) -> None:
    response = client_a.get(
        f"{URL}lookup/", {"category": "faq", "tags": "parking,hours", "location": facts[0].pk, "limit": 2}
    )
    assert response.status_code == 200
    assert [fact["title"] for fact in response.json()] == ["Hours", "Downtown garage"]
    assert set(response.json()[0]) == {
        "id",
        "location",
        "category",
        "title",
        "content",
        "tags",
        "priority",
        "updated_at",
    }


def test_the_lookup_endpoint_refuses_unknown_parameters_and_values(client_a, facts) -> None:
    response = client_a.get(f"{URL}lookup/", {"category": "gossip", "limit": 500, "tag": "x"})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"category", "limit", "tag"}


def test_a_fact_is_created_with_normalised_tags_and_its_edits_are_audited(client_a, org_a, manager_a) -> None:
    created = client_a.post(
        URL,
        {
            "category": "faq",
            "title": "Wifi",
            "content": "Ask for the code.",
            "tags": ["Wi Fi", "wi-fi", "waiting"],
        },
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["tags"] == ["wi-fi", "waiting"]
    pk = created.json()["id"]
    client_a.patch(f"{URL}{pk}/", {"content": "The code is on the wall."}, format="json")
    history = KnowledgeEntry.history.filter(id=pk).order_by("history_date")
    assert [(h.history_type, h.history_user) for h in history] == [("+", manager_a), ("~", manager_a)]
    assert history.first().content == "Ask for the code."
    client_a.delete(f"{URL}{pk}/")
    assert KnowledgeEntry.history.filter(id=pk).latest("history_date").history_type == "-"


def test_invalid_facts_are_400s_naming_the_field(client_a, org_a, tenant_b) -> None:
    response = client_a.post(
        URL,
        {
            "category": "gossip",
            "title": "",
            "content": "x",
            "tags": "parking",
            "priority": 101,
            "location": tenant_b.location.pk,
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"category", "title", "tags", "priority", "location"}


def test_the_knowledge_list_filters_and_its_query_count_does_not_grow(
    client_a, facts, django_assert_num_queries
) -> None:
    assert [f["title"] for f in client_a.get(URL, {"category": "policies"}).json()["results"]] == [
        "Cancellation fee"
    ]
    assert client_a.get(URL, {"category": "nope"}).status_code == 400
    with django_assert_num_queries(6):
        first = client_a.get(URL).json()["count"]
    KnowledgeEntryFactory.create_batch(10, organization=facts[0].organization, location=facts[0])
    with django_assert_num_queries(6):
        assert client_a.get(URL).json()["count"] == first + 10
