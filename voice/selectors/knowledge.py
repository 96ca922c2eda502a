"""Reads of the knowledge base, and the voice pipeline's knowledge lookup (its hot path).

The lookup: the caller's organization first, active facts, of a category, overlapping any of the given
tags, matching an optional text query, for a location (its own facts and the organization's) or for
the organization only, highest priority first, top N.

Text search. PostgreSQL matches the stored search vector (`english` configuration: stemmed, stop words
dropped) against `websearch_to_tsquery`, so "parking hours", "\"walk in\"", "cancel -fee" and
"parking or garage" mean what they mean on a search engine, served by the GIN index. SQLite has no text
search; its fallback (`SearchFallback`) reads the query the same way (quoted phrases, `-` to exclude,
`or` between alternatives, English stop words ignored) and matches each remaining word as a
case-insensitive substring of title and content. It finds what PostgreSQL finds for whole words and
prefixes ("park" finds "parking"), but does not stem ("parked" does not find "parking").

Order: priority (highest first), then, when there is a text query on PostgreSQL, relevance (ts_rank),
then the most recently updated, then id, so equal priorities come out in the same order every time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import BooleanField, F, Func, Q, QuerySet, Value

from voice.access import VoiceCaller
from voice.models import KnowledgeEntry
from voice.models.common import SEARCH_CONFIG, tag_normalize
from voice.selectors.common import scoped_get
from voice.selectors.compiled import CompiledQuery

MAX_LOOKUP = 50
LOOKUP_FIELDS = (
    "id",
    "organization_id",
    "location_id",
    "category",
    "title",
    "content",
    "tags",
    "priority",
    "updated_at",
)

# PostgreSQL's `english` stop words (the Snowball list), which its text search ignores.
_STOP_WORDS = """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers
    herself it its itself they them their theirs themselves what which who whom this that these those am is
    are was were be been being have has had having do does did doing a an the and but if or because as until
    while of at by for with about against between into through during before after above below to from up
    down in out on off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will just don should now
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())


class TagsOverlap(Func):
    """True when a JSON array of tags holds any of `tags`: `?|` on PostgreSQL (GIN jsonb_ops), a
    json_each scan on SQLite."""

    conditional = True
    output_field = BooleanField()
    arity = 1

    def __init__(self, expression: Any, tags: Iterable[str]) -> None:
        super().__init__(expression)
        self.tags = sorted(set(tags))

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        return (
            f"EXISTS (SELECT 1 FROM json_each({column}) j WHERE j.value IN (SELECT value FROM json_each(%s)))",
            [*params, json.dumps(self.tags)],
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        return f"{column} ?| %s::text[]", [*params, self.tags]


@dataclass(frozen=True)
class SearchTerm:
    text: str
    negated: bool = False


_TOKEN = re.compile(r'(-?)"([^"]*)"|(-?)(\S+)')


def search_fallback_groups(query: str) -> list[list[SearchTerm]]:
    """The query as alternatives (split on `or`), each a list of terms that must all (or, negated,
    must not) appear. Words are lower-cased with punctuation trimmed; stop words are dropped."""
    groups: list[list[SearchTerm]] = [[]]
    for match in _TOKEN.finditer(query):
        if match.group(2) is not None:  # a quoted phrase
            phrase = " ".join(re.findall(r"\w+", match.group(2).lower()))
            if phrase:
                groups[-1].append(SearchTerm(phrase, negated=bool(match.group(1))))
            continue
        word, negated = match.group(4), bool(match.group(3))
        if word.lower() == "or" and not negated:
            groups.append([])
            continue
        for part in re.findall(r"\w+", word.lower()):
            if part not in STOP_WORDS:
                groups[-1].append(SearchTerm(part, negated=negated))
    return [group for group in groups if any(not term.negated for term in group)]


def _fallback_filter(query: str) -> Q | None:
    condition: Q | None = None
    for group in search_fallback_groups(query):
        conjunction = Q()
        for term in group:
            match = Q(search_vector__contains=term.text)
            conjunction &= ~match if term.negated else match
        condition = conjunction if condition is None else condition | conjunction
    return condition


def knowledge_list(*, caller: VoiceCaller) -> QuerySet[KnowledgeEntry]:
    return caller.scope(KnowledgeEntry.objects.defer("search_vector")).select_related(
        "organization", "location"
    )


def knowledge_get(*, caller: VoiceCaller, pk: Any) -> KnowledgeEntry:
    return scoped_get(knowledge_list(caller=caller), caller=caller, pk=pk, kind="knowledge base entry")


def knowledge_search(queryset: QuerySet[KnowledgeEntry], query: str) -> QuerySet[KnowledgeEntry]:
    """`queryset` narrowed to the entries matching a text query (annotated `rank` on PostgreSQL)."""
    if connection.vendor == "postgresql":
        search = SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
        return queryset.filter(search_vector=search).annotate(rank=SearchRank(F("search_vector"), search))
    condition = _fallback_filter(query)
    if condition is None:  # nothing searchable (only stop words): PostgreSQL matches nothing either
        return queryset.none()
    return queryset.filter(condition).annotate(rank=Value(0.0))


def _lookup(
    queryset: QuerySet[KnowledgeEntry],
    *,
    limit: int,
    category: str | None = None,
    tags: list[str] | None = None,
    query: str | None = None,
    location: int | None = None,
) -> QuerySet[KnowledgeEntry]:
    """The lookup's rules on an already scoped queryset (the one statement of them)."""
    queryset = queryset.filter(is_active=True).only(*LOOKUP_FIELDS)
    if category is not None:
        queryset = queryset.filter(category=category)
    if location is None:
        queryset = queryset.filter(location__isnull=True)
    else:
        queryset = queryset.filter(Q(location__isnull=True) | Q(location_id=location))
    if tags:
        queryset = queryset.filter(TagsOverlap("tags", tags))
    order: list[Any] = ["-priority"]
    if query is not None:
        queryset = knowledge_search(queryset, query)
        if connection.vendor == "postgresql":
            order.append("-rank")
    order += ["-updated_at", "-pk"]
    return queryset.order_by(*order)[:limit]


def _lookup_in_organization(*, organization: int, limit: int, **values: Any) -> QuerySet[KnowledgeEntry]:
    return _lookup(KnowledgeEntry.objects.filter(organization_id=organization), limit=limit, **values)


class _LookupShapes(dict):
    """One CompiledQuery per LIMIT (SQL inlines it): at most MAX_LOOKUP of them."""

    def __missing__(self, limit: int) -> CompiledQuery:
        compiled = self[limit] = CompiledQuery(
            KnowledgeEntry, lambda **values: _lookup_in_organization(limit=limit, **values)
        )
        return compiled


LOOKUPS = _LookupShapes()


def knowledge_lookup(
    *,
    caller: VoiceCaller,
    category: str | None = None,
    tags: Sequence[str] = (),
    query: str = "",
    location_id: int | None = None,
    limit: int = 5,
) -> list[KnowledgeEntry]:
    """The facts the agent may quote now: one query (see the module docstring for the rules).

    For a caller in one organization (the voice pipeline's case) the query's SQL is compiled once per
    shape (voice.selectors.compiled); a caller reaching several organizations runs it through the ORM.
    """
    limit = max(1, min(limit, MAX_LOOKUP))
    values: dict[str, Any] = {}
    if category:
        values["category"] = category
    wanted = sorted({tag_normalize(tag) for tag in tags if tag_normalize(tag)})
    if wanted:
        values["tags"] = wanted
    if query.strip():
        values["query"] = query
    if location_id is not None:
        values["location"] = int(location_id)
    ids = caller.organization_ids
    if ids is None or len(ids) != 1:
        return list(_lookup(caller.scope(KnowledgeEntry.objects.all()), limit=limit, **values))
    shape = tuple(sorted(values))
    return LOOKUPS[limit](shape, organization=next(iter(ids)), **values)


def knowledge_tags(*, caller: VoiceCaller, limit: int = 40) -> list[str]:
    """The most used tags of the caller's facts (for the admin's tag filter); one grouped query."""
    from django.db import connection

    scoped_sql, scoped_params = (
        caller.scope(KnowledgeEntry.objects.all()).values("pk").query.sql_with_params()
    )
    if connection.vendor == "postgresql":
        elements = "jsonb_array_elements_text(e.tags) AS t(value)"
    else:
        elements = "json_each(e.tags) AS t"
    sql = (
        f"SELECT t.value, COUNT(*) AS uses FROM voice_knowledgeentry e, {elements} "
        f"WHERE e.id IN ({scoped_sql}) GROUP BY t.value ORDER BY uses DESC, t.value LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*scoped_params, limit])
        return [row[0] for row in cursor.fetchall()]
