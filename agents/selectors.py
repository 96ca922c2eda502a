"""Reads of agents, already joined and prefetched so that a page costs the same queries for 3 rows or 300.

An agent page is one query for the agents joined to their availability and performance (one-to-one,
so `select_related`), plus one query per nested set (skills with their domain, languages,
specializations, schedules). Nothing here locks; the locking reads live in agents.services.

An agent's history page merges the agent's own records with the history of its inline rows
(`agent_inline_history`) at a constant number of queries: one per related model (with the id of each
record's predecessor and whether the row still exists as subqueries) and one to fetch those
predecessors for diffing.

`agent_detail` on PostgreSQL is one hand-written statement (`AgentDetailStatement`) instead of the
five above: the agent joined to its availability and performance, its nested sets as JSON arrays
(`agent_page` reads a page's ids, then the page through the same statement by id).
Building and compiling the five querysets cost ~4 ms of Python per lookup against under 0.5 ms of
server time; the statement's text is built once from the models' _meta and the rows become the same
model instances, with the same select_related and prefetch caches, as the ORM path gives
(tests/agents/test_detail_statement.py proves them equal). SQLite keeps the ORM path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, models
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from simple_history.template_utils import HistoricalRecordContextHelper

from agents.languages import ISO_639_1
from agents.models import (
    AgentAvailability,
    AgentLanguage,
    AgentPerformance,
    AgentSchedule,
    AgentSkill,
    AgentSpecialization,
    HumanAgent,
    SkillDomain,
)
from config.errors import ConflictError, NotFoundError


class AgentNotFound(NotFoundError):
    default_detail = "No agent with code {code}."


class AvailabilityMissing(ConflictError):
    code = "availability_missing"
    default_detail = "Agent {code} has no availability record yet; set a status (PUT or PATCH) to create it."


def agent_list() -> QuerySet[HumanAgent]:
    """Every agent with what the API shows of it; filter and order it further as needed."""
    return HumanAgent.objects.select_related("availability", "performance").prefetch_related(
        Prefetch("skills", queryset=AgentSkill.objects.select_related("domain")),
        "languages",
        "specializations",
        "schedules",
    )


def agent_page(
    agents: QuerySet[HumanAgent], paginate: Callable[[QuerySet[HumanAgent]], list[HumanAgent] | None]
) -> list[HumanAgent]:
    """One page of a filtered and ordered `agent_list()`, cut by `paginate` (e.g. a view's
    paginate_queryset), with everything `agent_list` joins and prefetches.

    PostgreSQL: `paginate` reads only the page's ids, then AgentDetailStatement reads those agents with
    their sets in one statement: the page costs the count, the ids and one statement, not the page query
    and a query per nested set, and no queryset is compiled per set (tests/agents/test_detail_statement.py
    proves the pages equal). Elsewhere the ORM path."""
    if connection.vendor != "postgresql":
        return paginate(agents)
    keys = paginate(agents.select_related(None).prefetch_related(None).only("id"))
    if keys is None:  # not paginated: every agent
        return list(agents)
    return AgentDetailStatement.get().fetch_page([agent.pk for agent in keys])


def agent_detail(*, code: str) -> HumanAgent:
    """One agent by its code, joined and prefetched like `agent_list`; unknown code -> AgentNotFound.

    PostgreSQL: one statement (AgentDetailStatement, see the module docstring); elsewhere the ORM."""
    if connection.vendor == "postgresql":
        agent = AgentDetailStatement.get().fetch(code)
        if agent is None:
            raise AgentNotFound(code=code)
        return agent
    try:
        return agent_list().get(code=code)
    except HumanAgent.DoesNotExist:
        raise AgentNotFound(code=code) from None


# --- the agent detail as one statement (PostgreSQL) ------------------------------------------------------

Converter = Callable[[Any], Any]


def _nested_value(field: models.Field) -> tuple[str, Converter | None]:
    """How a nested row's column is read out of JSON: decimals as text (exact, not a float), then each
    value through the field's to_python where JSON's type is not the model's (dates, times, decimals;
    datetimes in UTC, as the database driver gives them)."""
    column = f"{{alias}}.{connection.ops.quote_name(field.column)}"
    if isinstance(field, models.DecimalField):
        return f"{column}::text", field.to_python
    if isinstance(field, models.DateTimeField):
        return column, lambda value, f=field: None if value is None else f.to_python(value).astimezone(dt.UTC)
    if isinstance(field, models.DateField | models.TimeField):
        return column, field.to_python
    if isinstance(field, models.JSONField):  # nested JSON arrives parsed (json_build_array embeds it)
        return column, None
    return column, None


@dataclasses.dataclass(frozen=True)
class _JsonRow:
    """A model's concrete columns as elements of a JSON array, and how to read them back."""

    model: type[models.Model]
    columns: tuple[str, ...]  # with the table alias {alias} left to fill
    attnames: tuple[str, ...]
    converters: tuple[Converter | None, ...]

    @classmethod
    def of(cls, model: type[models.Model]) -> _JsonRow:
        fields = model._meta.concrete_fields
        values = [_nested_value(field) for field in fields]
        return cls(
            model,
            tuple(column for column, _ in values),
            tuple(field.attname for field in fields),
            tuple(converter for _, converter in values),
        )

    def sql(self, alias: str) -> list[str]:
        return [column.format(alias=alias) for column in self.columns]

    def instance(self, values: list) -> models.Model:
        return _from_db(self.model, self.attnames, _converted(values, self.converters))


@dataclasses.dataclass(frozen=True)
class _Nested:
    """One prefetched set of the agent: its JSON column and how to turn an element back into rows."""

    cache_name: str  # the related manager's name, the key of _prefetched_objects_cache
    row: _JsonRow
    sql: str
    domain: _JsonRow | None = None  # AgentSkill's select_related("domain"), read from the same element

    @classmethod
    def build(cls, cache_name: str, model: type[models.Model], *, with_domain: bool = False) -> _Nested:
        q = connection.ops.quote_name
        row = _JsonRow.of(model)
        columns = row.sql("n")
        joins = ""
        domain = None
        if with_domain:
            domain = _JsonRow.of(SkillDomain)
            columns += domain.sql("d")
            joins = f" JOIN {q(SkillDomain._meta.db_table)} d ON d.id = n.{q('domain_id')}"
        fk = model._meta.get_field("agent").column
        order = ", ".join(
            f"n.{q(model._meta.get_field(name.lstrip('-')).column)}{' DESC' if name.startswith('-') else ''}"
            for name in model._meta.ordering
        )
        sql = (
            f"(SELECT json_agg(json_build_array({', '.join(columns)}) "
            f"ORDER BY {order}, n.{q(model._meta.pk.column)}) "
            f"FROM {q(model._meta.db_table)} n{joins} WHERE n.{q(fk)} = h.{q('id')})"
        )
        return cls(cache_name=cache_name, row=row, sql=sql, domain=domain)

    def rows(self, raw: Any, agent: HumanAgent) -> list[models.Model]:
        if raw is None:
            return []
        if isinstance(raw, str | bytes):
            raw = json.loads(raw)
        width = len(self.row.attnames)
        model = self.row.model
        back = model._meta.get_field("agent")
        rows = []
        for element in raw:
            row = self.row.instance(element[:width])
            back.set_cached_value(row, agent)  # as prefetch_related sets it
            if self.domain is not None:
                model._meta.get_field("domain").set_cached_value(row, self.domain.instance(element[width:]))
            rows.append(row)
        return rows


def _from_db(model: type[models.Model], attnames: tuple[str, ...], values: list) -> models.Model:
    """`model.from_db(alias, attnames, values)` for a row with every concrete field, without running
    Model.__init__ per row: its generic argument handling is a third of building a page of agents.
    The instance is the one from_db gives (its __dict__ holds the state and the same attribute values:
    tests/agents/test_detail_statement.py compares them). A model with pre_init or post_init receivers
    takes from_db itself, so they run."""
    if models.signals.pre_init.has_listeners(model) or models.signals.post_init.has_listeners(model):
        return model.from_db(connection.alias, attnames, values)
    instance = model.__new__(model)
    state = instance._state = models.base.ModelState()
    state.adding, state.db = False, connection.alias
    instance.__dict__.update(zip(attnames, values, strict=True))
    return instance


def _converted(values: list, converters: tuple[Converter | None, ...]) -> list:
    return [
        value if convert is None or value is None else convert(value)
        for value, convert in zip(values, converters, strict=True)
    ]


@dataclasses.dataclass(frozen=True)
class JoinedRow:
    """A model read by its own columns in the statement's row (the agent, or a select_related row)."""

    model: type[models.Model]
    attnames: tuple[str, ...]
    converters: tuple[Converter | None, ...]

    @classmethod
    def build(cls, model: type[models.Model], alias: str) -> tuple[JoinedRow, list[str]]:
        fields = model._meta.concrete_fields
        converters = []
        for field in fields:
            col = field.get_col(alias)
            found = [*connection.ops.get_db_converters(col), *col.get_db_converters(connection)]
            converters.append(_chain(found, col) if found else None)
        columns = [f"{alias}.{connection.ops.quote_name(field.column)}" for field in fields]
        return cls(model, tuple(field.attname for field in fields), tuple(converters)), columns

    def instance(self, values: tuple) -> models.Model:
        return _from_db(self.model, self.attnames, _converted(list(values), self.converters))


def _chain(converters: list, expression: Any) -> Converter:
    def convert(value: Any) -> Any:
        for converter in converters:
            value = converter(value, expression, connection)
        return value

    return convert


@dataclasses.dataclass(frozen=True)
class AgentDetailStatement:
    """The statement behind `agent_detail` and `agent_page` on PostgreSQL, built once per process from
    the models: `sql` finds one agent by code, `page_sql` the agents of a page by id."""

    sql: str
    page_sql: str
    agent: JoinedRow
    availability: JoinedRow
    performance: JoinedRow
    nested: tuple[_Nested, ...]

    @classmethod
    def get(cls) -> AgentDetailStatement:
        statement = _STATEMENTS.get(connection.alias)
        if statement is None:
            statement = _STATEMENTS[connection.alias] = cls.build()
        return statement

    @classmethod
    def build(cls) -> AgentDetailStatement:
        q = connection.ops.quote_name
        agent, agent_columns = JoinedRow.build(HumanAgent, "h")
        availability, availability_columns = JoinedRow.build(AgentAvailability, "a")
        performance, performance_columns = JoinedRow.build(AgentPerformance, "p")
        nested = (
            _Nested.build("skills", AgentSkill, with_domain=True),
            _Nested.build("languages", AgentLanguage),
            _Nested.build("specializations", AgentSpecialization),
            _Nested.build("schedules", AgentSchedule),
        )
        columns = [*agent_columns, *availability_columns, *performance_columns, *(n.sql for n in nested)]
        select = (
            f"SELECT {', '.join(columns)} FROM {q(HumanAgent._meta.db_table)} h "
            f"LEFT JOIN {q(AgentAvailability._meta.db_table)} a ON a.{q('agent_id')} = h.{q('id')} "
            f"LEFT JOIN {q(AgentPerformance._meta.db_table)} p ON p.{q('agent_id')} = h.{q('id')} "
        )
        return cls(
            f"{select}WHERE h.{q('code')} = %s",
            f"{select}WHERE h.{q('id')} = ANY(%s)",
            agent,
            availability,
            performance,
            nested,
        )

    def fetch(self, code: str) -> HumanAgent | None:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [code])
            row = cursor.fetchone()
        return None if row is None else self._agent(row)

    def fetch_page(self, ids: list[int]) -> list[HumanAgent]:
        """The agents with these ids, in the order given (an id with no agent is left out)."""
        if not ids:
            return []
        with connection.cursor() as cursor:
            cursor.execute(self.page_sql, [ids])
            found = {agent.pk: agent for agent in map(self._agent, cursor.fetchall())}
        return [found[pk] for pk in ids if pk in found]

    def _agent(self, row: tuple) -> HumanAgent:
        widths = [len(part.attnames) for part in (self.agent, self.availability, self.performance)]
        ends = [widths[0], widths[0] + widths[1], sum(widths)]
        agent = self.agent.instance(row[: ends[0]])
        for part, start, end, name in (
            (self.availability, ends[0], ends[1], "availability"),
            (self.performance, ends[1], ends[2], "performance"),
        ):
            values = row[start:end]
            related = None if values[0] is None else part.instance(values)  # the pk is the agent_id
            descriptor = getattr(HumanAgent, name)
            descriptor.related.set_cached_value(agent, related)  # as select_related does, None included
            if related is not None:
                descriptor.related.field.set_cached_value(related, agent)
        cache = agent._prefetched_objects_cache = {}
        for nested, raw in zip(self.nested, row[ends[2] :], strict=True):
            queryset = getattr(agent, nested.cache_name).get_queryset()
            queryset._result_cache = nested.rows(raw, agent)
            queryset._prefetch_done = True
            cache[nested.cache_name] = queryset
        return agent


_STATEMENTS: dict[str, AgentDetailStatement] = {}


def agent_availability_get(*, code: str) -> AgentAvailability:
    """An agent's live availability, looked up by agent code in one query (joined to the agent).

    An unknown code is AgentNotFound; a known agent without the row (written around agent_create) is
    AvailabilityMissing, since a read does not write. Setting a status creates the row.
    """
    try:
        return AgentAvailability.objects.select_related("agent").get(agent__code=code)
    except AgentAvailability.DoesNotExist:
        if HumanAgent.objects.filter(code=code).exists():
            raise AvailabilityMissing(code=code) from None
        raise AgentNotFound(code=code) from None


# --- history of an agent's inline rows ----------------------------------------------------------------

# Deleted rows of these models can be brought back from their history (agents.services.agent_row_restore).
RESTORABLE_ROWS: tuple[type[models.Model], ...] = (
    AgentSkill,
    AgentLanguage,
    AgentSpecialization,
    AgentSchedule,
)

# The change reason of a record that agents.services writes of a row's state just before its first tracked
# change (rows the seed migrations or bulk loads created have no history): the page diffs the change
# against it (years of experience 3.0 -> 7.5) but does not list it as a change of its own.
HISTORY_BASELINE_REASON = "state before its first recorded change"

INLINE_HISTORY_MODELS: tuple[type[models.Model], ...] = (
    AgentSkill,
    AgentLanguage,
    AgentSpecialization,
    AgentSchedule,
    AgentAvailability,
)


@dataclasses.dataclass(frozen=True)
class RelatedChange:
    """One historical record of an inline row, ready for the history template."""

    kind: str
    row: str
    history_date: dt.datetime
    history_id: int
    action: str
    user: AbstractBaseUser | None
    changes: list[dict[str, Any]]
    model_name: str = ""
    restorable: bool = False  # a deletion of a row that does not exist again (agent_row_restore)


def _previous_record_id(history_model: type[models.Model], pk_name: str) -> Subquery:
    earlier = Q(history_date__lt=OuterRef("history_date")) | Q(
        history_date=OuterRef("history_date"), history_id__lt=OuterRef("history_id")
    )
    return Subquery(
        history_model.objects.filter(earlier, **{pk_name: OuterRef(pk_name)})
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )


class _ReadableChanges(HistoricalRecordContextHelper):
    """Old and new values as a supervisor reads them: language names for the specializations' language
    codes, lists joined by commas, "none" for an empty value. Choices keep their stored words (advanced,
    expert), which read as they are."""

    def prepare_delta_change_value(self, change: Any, value: Any) -> Any:
        field = self.model._meta.get_field(change.field)
        if value is None or value == "" or value == []:
            return "none"
        if isinstance(value, list):
            names = ISO_639_1 if field.name == "languages" else {}
            return ", ".join(str(names.get(item, item)) for item in value)
        return super().prepare_delta_change_value(change, value)


def _creation_changes(model: type[models.Model], record: Any, field_names: list[str]) -> list[dict[str, Any]]:
    changes = []
    for name in field_names:
        value = getattr(record, name)
        if value in (None, "", []):
            continue
        field = model._meta.get_field(name)
        display = getattr(record, f"get_{name}_display")() if field.choices else value
        changes.append({"field": str(field.verbose_name).capitalize(), "old": "", "new": display})
    return changes


def _row_label(record: Any) -> str:
    # The labels of the rows' own __str__, from what the history query joined (the skill's domain; an
    # availability is labelled by its status, the agent being the page's): no query per record.
    if record.instance_type is AgentSkill:
        domain = getattr(record, "domain", None)
        return f"{domain.name if domain else record.domain_id} ({record.get_proficiency_display()})"
    if record.instance_type is AgentAvailability:
        return record.get_status_display()
    return str(record.history_object)


def agent_inline_history(*, agent_id: int, limit: int) -> tuple[list[RelatedChange], bool]:
    """The newest `limit` changes to an agent's inline rows, newest first, and whether older ones exist.

    Two queries per related model whatever the number of records: the records (with the user, the
    tracked foreign keys and the id of each record's predecessor) and the predecessors themselves.
    """
    entries: list[RelatedChange] = []
    more = False
    for model in INLINE_HISTORY_MODELS:
        history_model = model.history.model
        pk_name = model._meta.pk.attname
        related = [
            field.name
            for field in history_model.tracked_fields
            if isinstance(field, models.ForeignKey) and field.name != "agent"
        ]
        diffed = [
            field.name
            for field in history_model.tracked_fields
            if field.editable and not field.primary_key and field.name not in ("id", "agent")
        ]
        records = list(
            history_model.objects.filter(agent_id=agent_id)
            .exclude(history_change_reason=HISTORY_BASELINE_REASON)  # predecessors only, not changes
            .select_related("history_user", *related)
            .annotate(
                previous_history_id=_previous_record_id(history_model, pk_name),
                row_exists=Exists(model._default_manager.filter(pk=OuterRef(pk_name))),
            )
            .order_by("-history_date", "-history_id")[: limit + 1]
        )
        if len(records) > limit:
            more = True
            records = records[:limit]
        previous_ids = [
            r.previous_history_id for r in records if r.history_type == "~" and r.previous_history_id
        ]
        previous = (
            history_model.objects.select_related(*related).in_bulk(previous_ids) if previous_ids else {}
        )
        for record in records:
            if record.history_type == "+":
                changes = _creation_changes(model, record, diffed)
            elif record.previous_history_id in previous:
                delta = record.diff_against(
                    previous[record.previous_history_id], included_fields=diffed, foreign_keys_are_objs=True
                )
                changes = _ReadableChanges(model, record).context_for_delta_changes(delta)
            else:
                changes = []
            entries.append(
                RelatedChange(
                    kind=str(model._meta.verbose_name),
                    row=_row_label(record),
                    history_date=record.history_date,
                    history_id=record.history_id,
                    action=record.get_history_type_display(),
                    user=record.history_user,
                    changes=changes,
                    model_name=model._meta.model_name,
                    restorable=(
                        record.history_type == "-" and not record.row_exists and model in RESTORABLE_ROWS
                    ),
                )
            )
    entries.sort(key=lambda entry: (entry.history_date, entry.history_id), reverse=True)
    return entries[:limit], more or len(entries) > limit


# --- values in use, for the admin's filters ---------------------------------------------------------


def languages_in_use() -> list[tuple[str, str]]:
    """(code, name) of the languages some agent speaks, by name: one DISTINCT over the language rows'
    index, so a filter lists the handful in use rather than all of ISO 639-1."""
    codes = AgentLanguage.objects.order_by().values_list("language_code", flat=True).distinct()
    return sorted(((code, ISO_639_1.get(code, code)) for code in codes), key=lambda item: item[1])
