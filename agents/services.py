"""Every write to agents goes through here: the admin, the API, commands and tests call these.

Lock order (one order for agents and routing, routing.services states it): an agent's AgentAvailability
row first, then its HumanAgent row, then work rows (cases, assignments, queue entries); several agents in
ascending agent_id order. Every lock is FOR NO KEY UPDATE (`select_for_update(no_key=True)`): these rows
are never deleted here, and FOR UPDATE would block the FOR KEY SHARE lock that another transaction's
foreign-key check takes on the agent (a router inserting an assignment), which deadlocked agent edits
against routing.

Statuses: a status a person or an integration sets through these services is their decision
(manual_override), whatever the reason field holds; only `available` hands the status back to routing,
which sets `busy` at capacity and `available` again when the load drops.

Nested sets (skills, languages, specializations, schedules) are replaced as a whole when given: rows
are matched by their natural key (skill domain, language code, specialization name, line and segment) and updated in
place, new keys are created and missing ones deleted. Schedules have no natural key in the model, so a
schedule row is kept only when an identical row is given again; anything else is deleted or created.
Bulk writes go through simple_history's bulk helpers so the audit trail stays complete.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from agents.models import (
    AgentAvailability,
    AgentLanguage,
    AgentPerformance,
    AgentSchedule,
    AgentSkill,
    AgentSpecialization,
    AvailabilityStatus,
    HumanAgent,
)
from agents.selectors import HISTORY_BASELINE_REASON, RESTORABLE_ROWS, AgentNotFound, JoinedRow
from agents.signals import agent_capacity_freed, agent_schedules_changed, agent_status_changed
from config.errors import ConflictError, NotFoundError
from config.history import update_with_history

WORKING_STATUSES = {AvailabilityStatus.AVAILABLE, AvailabilityStatus.BUSY}


class AgentInactive(ConflictError):
    code = "agent_inactive"
    default_detail = "Agent {code} is inactive and cannot be made {status}; activate the agent first."


class NestedRowsConflict(ConflictError):
    """A nested set broke a uniqueness rule at write time (the serializer catches the usual cases first)."""


class RowNotRestorable(ConflictError):
    code = "not_restorable"


def _notify_capacity_freed(agent_id: int) -> None:
    """Tell routing the agent may take more work, inside the caller's transaction: routing serves the
    queue to the agent in this same transaction (lock order agent -> case -> queue: the caller holds
    the agent's row; routing's receiver runs in a savepoint and never fails the caller)."""
    agent_capacity_freed.send(sender=HumanAgent, agent_id=agent_id)


@transaction.atomic
def agent_set_status(
    *,
    agent: HumanAgent | int,
    status: str,
    override_reason: str = "",
    expected_available_at: dt.datetime | None = None,
) -> AgentAvailability:
    """Set an agent's live status as a person or an integration decides it (the hot path: one locked
    row, one update). Any status but `available` is a manual override that routing leaves alone."""
    agent_id = agent if isinstance(agent, int) else agent.pk
    availability = _availability_locked(agent_id=agent_id)
    return _availability_apply_status(
        availability,
        status=status,
        override_reason=override_reason,
        manual_override=status_is_manual(status),
        expected_available_at=expected_available_at,
    )


@transaction.atomic
def agents_set_status(
    *,
    agent_ids: Sequence[int],
    status: str,
    override_reason: str = "",
    expected_available_at: dt.datetime | None = None,
) -> int:
    """Set the status of several agents at once (the admin's bulk action): one transaction, agents
    locked in ascending id order (the lock order); all or nothing. Returns how many were set."""
    ids = sorted(set(agent_ids))
    for agent_id in ids:
        agent_set_status(
            agent=agent_id,
            status=status,
            override_reason=override_reason,
            expected_available_at=expected_available_at,
        )
    return len(ids)


def _availability_locked(*, agent_id: int | None = None, code: str | None = None) -> AgentAvailability:
    """The agent's availability row, locked and joined to the agent; created (offline) if it is missing.

    One query on the hot path. Every agent should have the row (agent_create makes it), but an agent
    created some other way may not: that agent is known, so it gets the row rather than a "no such agent".
    """
    rows = AgentAvailability.objects.select_for_update(no_key=True, of=("self",)).select_related("agent")
    try:
        if code is None:
            return rows.get(agent_id=agent_id)
        if connection.vendor == "postgresql":
            return _AvailabilityByCode.get().fetch(code)
        return rows.get(agent__code=code)
    except AgentAvailability.DoesNotExist:
        agent = HumanAgent.objects.filter(**({"pk": agent_id} if code is None else {"code": code})).first()
        if agent is None:
            raise AgentNotFound(code=code if code is not None else f"#{agent_id}") from None
        agent_ensure_live_rows(agent=agent)
        return rows.get(agent_id=agent.pk)


@dataclasses.dataclass(frozen=True)
class _AvailabilityByCode:
    """`_availability_locked(code=...)` on PostgreSQL as one statement written once per process: the
    availability row locked FOR NO KEY UPDATE and joined to its agent, built into the instances the ORM
    query gives (select_related cache both ways; tests/agents/test_services.py compares them). The ORM
    spent longer compiling that query than PostgreSQL running it, on every availability update."""

    sql: str
    availability: JoinedRow
    agent: JoinedRow

    @classmethod
    def get(cls) -> _AvailabilityByCode:
        statement = _LOCK_BY_CODE.get(connection.alias)
        if statement is None:
            q = connection.ops.quote_name
            availability, availability_columns = JoinedRow.build(AgentAvailability, "a")
            agent, agent_columns = JoinedRow.build(HumanAgent, "h")
            sql = (
                f"SELECT {', '.join([*availability_columns, *agent_columns])} "
                f"FROM {q(AgentAvailability._meta.db_table)} a "
                f"JOIN {q(HumanAgent._meta.db_table)} h ON h.{q('id')} = a.{q('agent_id')} "
                f"WHERE h.{q('code')} = %s FOR NO KEY UPDATE OF a"
            )
            statement = _LOCK_BY_CODE[connection.alias] = cls(sql, availability, agent)
        return statement

    def fetch(self, code: str) -> AgentAvailability:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [code])
            row = cursor.fetchone()
        if row is None:
            raise AgentAvailability.DoesNotExist
        width = len(self.availability.attnames)
        availability = self.availability.instance(row[:width])
        agent = self.agent.instance(row[width:])
        AgentAvailability.agent.field.set_cached_value(availability, agent)
        HumanAgent.availability.related.set_cached_value(agent, availability)
        return availability


_LOCK_BY_CODE: dict[str, _AvailabilityByCode] = {}


def status_is_manual(status: str) -> bool:
    """Whether a status set by a person or an integration is a manual override (see the module docstring)."""
    return status != AvailabilityStatus.AVAILABLE


def _availability_apply_status(
    availability: AgentAvailability,
    *,
    status: str,
    override_reason: str,
    manual_override: bool,
    expected_available_at: dt.datetime | None,
) -> AgentAvailability:
    """The body of `agent_set_status`, for a row the caller has locked in its open transaction.

    Shared with `agent_availability_update` rather than calling the @atomic service from inside
    another atomic block, which would add a SAVEPOINT and its RELEASE to the hot path.
    """
    if status in WORKING_STATUSES and not availability.agent.is_active:
        # An inactive agent receives no work: "available" would offer it some, and routing turns a
        # non-manual "busy" back into "available" when the load drops.
        raise AgentInactive(
            code=availability.agent.code,
            status=AvailabilityStatus(status).label.lower(),
            fields={"status": ["An inactive agent can only take a non-working status (e.g. offline)."]},
        )
    if (
        status == AvailabilityStatus.AVAILABLE
        and availability.current_load >= availability.agent.max_concurrent_work
    ):
        # `available` hands the status to routing, whose status for a full agent is busy (until a slot frees).
        status, manual_override = AvailabilityStatus.BUSY, False
    now = timezone.now()
    previous, previous_since = availability.status, availability.status_since
    took_work = availability.takes_work
    if status != previous:
        availability.status_since = now
    availability.status = status
    availability.manual_override = manual_override
    availability.override_reason = override_reason
    availability.expected_available_at = expected_available_at
    update_with_history(  # save() and its history record, in one statement on PostgreSQL
        availability,
        update_fields=[
            "status",
            "status_since",
            "manual_override",
            "override_reason",
            "expected_available_at",
            "last_status_change",
        ],
    )
    if status == AvailabilityStatus.BREAK and previous != AvailabilityStatus.BREAK:
        AgentPerformance.objects.filter(agent_id=availability.agent_id).update(last_break_at=now)
    if status != previous:  # routing ends a difficult streak when the agent comes back rested
        agent_status_changed.send(
            sender=HumanAgent,
            agent_id=availability.agent_id,
            previous_status=previous,
            previous_since=previous_since,
            status=status,
            now=now,
        )
    if availability.takes_work and not took_work:  # e.g. back from a break, or a supervisor's busy lifted
        _notify_capacity_freed(availability.agent_id)
    return availability


@transaction.atomic
def agents_set_active(*, agent_ids: list[int], active: bool) -> int:
    """Activate or deactivate agents; a deactivated agent goes offline and receives no new work.

    Lock order: the agents' availability rows (agent_id order), then their agent rows."""
    availabilities = list(
        AgentAvailability.objects.select_for_update(no_key=True, of=("self",))
        .filter(agent_id__in=agent_ids)
        .order_by("agent_id")
    )
    changed = 0
    agents = HumanAgent.objects.select_for_update(no_key=True).filter(pk__in=agent_ids).order_by("pk")
    for agent in agents.exclude(is_active=active):
        agent.is_active = active
        agent.save(update_fields=["is_active", "updated_at"])  # save(), not update(): history records it
        changed += 1
    if not active:
        now = timezone.now()
        for availability in availabilities:
            if availability.status != AvailabilityStatus.OFFLINE:
                availability.status = AvailabilityStatus.OFFLINE
                availability.manual_override = True
                availability.status_since = now
                availability.save(
                    update_fields=["status", "manual_override", "status_since", "last_status_change"]
                )
    return changed


def agent_ensure_live_rows(*, agent: HumanAgent) -> None:
    """Every agent has exactly one availability row and one performance snapshot."""
    AgentAvailability.objects.get_or_create(
        agent=agent, defaults={"status": AvailabilityStatus.OFFLINE, "status_since": timezone.now()}
    )
    AgentPerformance.objects.get_or_create(agent=agent)


class _Unset:
    """Marks a keyword the caller did not give (None is a meaningful value for some fields)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@transaction.atomic
def agent_availability_update(
    *,
    code: str,
    status: str | None = None,
    override_reason: str | None = None,
    expected_available_at: dt.datetime | None | _Unset = UNSET,
) -> AgentAvailability:
    """Change the live status of the agent with `code` as a person or an integration decides it;
    omitted values keep their current value.

    The API's hot path: one query finds the availability row by agent code (joined to the agent, for
    its capacity) and locks it, then the body of `agent_set_status` updates it. The status given (or
    kept) is the caller's decision: any but `available` is a manual override (agent_set_status).
    """
    availability = _availability_locked(code=code)
    reason = override_reason if override_reason is not None else availability.override_reason
    return _availability_apply_status(
        availability,
        status=status if status is not None else availability.status,
        override_reason=reason,
        # A status given is the caller's decision; without one, who set the status does not change.
        manual_override=status_is_manual(status) if status is not None else availability.manual_override,
        expected_available_at=(
            availability.expected_available_at if expected_available_at is UNSET else expected_available_at
        ),
    )


# --- agents and their nested sets -------------------------------------------------------------------

# The agent's own columns a supervisor or an integration edits, in the order the roster CSV and the API
# show them (agents.resources, agents.api.serializers).
AGENT_EDITABLE_FIELDS: tuple[str, ...] = (
    "code",
    "name",
    "email",
    "employee_id",
    "department",
    "hire_date",
    "skill_level",
    "base_hourly_rate",
    "max_concurrent_work",
    "frustration_tolerance",
    "is_active",
)

Row = Mapping[str, Any]


def _check_editable(attributes: Mapping[str, Any]) -> None:
    unknown = set(attributes).difference(AGENT_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not an editable agent field: {', '.join(sorted(unknown))}")


def _by_attname(model: type[models.Model], row: Row) -> dict[str, Any]:
    """Serializers give related objects (`domain=<SkillDomain>`); compare and store them by id."""
    values = {}
    for name, value in row.items():
        field = model._meta.get_field(name)
        if field.is_relation and isinstance(value, models.Model):
            value = value.pk
        values[field.attname] = value
    return values


# Rows whose change touches these fields first get the given values (one UPDATE), which takes them out of
# a unique constraint, so that two rows may swap their values in one request (the constraint is checked
# per statement and cannot be deferred: Django cannot defer a conditional or expression constraint).
RELEASE_BEFORE_UPDATE: dict[type[models.Model], tuple[frozenset[str], dict[str, Any]]] = {
    AgentSpecialization: (frozenset({"insurance_line", "customer_segment"}), {"insurance_line": None}),
}


def _nested_replace(
    *, agent: HumanAgent, model: type[models.Model], rows: Sequence[Row], keys: tuple[tuple[str, ...], ...]
) -> bool:
    """Make the agent's rows of `model` equal `rows`; returns whether anything changed.

    Rows are matched on the first of `keys` that finds an existing row not matched yet, and updated in
    place (so their history reads on). With no keys every column is the key: identical rows are kept,
    the others deleted and created.
    """
    if not keys:
        keys = (
            tuple(
                field.attname
                for field in model._meta.concrete_fields
                if not field.primary_key and field.name != "agent"
            ),
        )
    existing = list(model._default_manager.filter(agent=agent).order_by("pk"))
    before = {obj.pk: copy.copy(obj) for obj in existing}  # their state, for history_baseline_write
    candidates = [
        (row, model(agent=agent, **_by_attname(model, row))) for row in rows
    ]  # unsaved, with defaults
    matched: dict[int, models.Model] = {}  # index of the row -> the existing row it updates
    kept: set[int] = set()
    for key_fields in keys:
        by_key: dict[tuple[Any, ...], list[models.Model]] = {}
        for obj in existing:
            if obj.pk not in kept:
                by_key.setdefault(tuple(getattr(obj, name) for name in key_fields), []).append(obj)
        for index, (_, candidate) in enumerate(candidates):
            if index in matched:
                continue
            found = by_key.get(tuple(getattr(candidate, name) for name in key_fields))
            if found:
                matched[index] = found.pop(0)
                kept.add(matched[index].pk)

    to_create: list[models.Model] = []
    to_update: list[models.Model] = []
    changed_fields: set[str] = set()
    release_on, released_values = RELEASE_BEFORE_UPDATE.get(model, (frozenset(), {}))
    to_release: list[int] = []
    for index, (row, candidate) in enumerate(candidates):
        obj = matched.get(index)
        if obj is None:
            to_create.append(candidate)
            continue
        values = _by_attname(model, row)
        changed = [name for name, value in values.items() if getattr(obj, name) != value]
        for name in changed:
            setattr(obj, name, values[name])
        if changed:
            to_update.append(obj)
            changed_fields.update(changed)
            if release_on.intersection(changed):
                to_release.append(obj.pk)

    stale = [obj.pk for obj in existing if obj.pk not in kept]
    history_baseline_write(
        model=model, rows=[before[obj.pk] for obj in to_update] + [before[pk] for pk in stale]
    )
    if stale:  # first, so a new row cannot collide with the unique values of one it replaces
        model._default_manager.filter(pk__in=stale).delete()
    if to_release:
        model._default_manager.filter(pk__in=to_release).update(**released_values)
        changed_fields.update(released_values)  # write the released fields back, changed or not
    if to_update:
        bulk_update_with_history(to_update, model, fields=sorted(changed_fields))
    if to_create:
        bulk_create_with_history(to_create, model)
    return bool(stale or to_update or to_create)


# Natural keys of the nested sets, tried in turn; schedules have none in the model (see the module
# docstring). A specialization's name is not unique on its own (seed 001: one row per line and segment,
# so auto/smb and auto/enterprise may share the name "auto"): rows are matched by name, line and segment
# first, then by name alone, so changing a row's line or segment updates it in place.
NESTED_SETS: dict[str, tuple[type[models.Model], tuple[tuple[str, ...], ...]]] = {
    "skills": (AgentSkill, (("domain_id",),)),
    "languages": (AgentLanguage, (("language_code",),)),
    "specializations": (
        AgentSpecialization,
        (("specialization", "insurance_line", "customer_segment"), ("specialization",)),
    ),
    "schedules": (AgentSchedule, ()),
}


def history_baseline_write(*, model: type[models.Model], rows: Sequence[models.Model]) -> int:
    """Record the current state of `rows` that have no history yet, just before they are changed.

    Rows the seed migrations and bulk loads wrote have no history record, so their first change could
    not say what it changed from. One query finds the rows without history and one insert records them
    (change reason HISTORY_BASELINE_REASON, which the agent's history page diffs against without listing
    it). Returns the number of records written.
    """
    if not rows:
        return 0
    pk_name = model._meta.pk.attname
    recorded = set(
        model.history.filter(**{f"{pk_name}__in": [row.pk for row in rows]})
        .values_list(pk_name, flat=True)
        .distinct()
    )
    missing = [row for row in rows if row.pk not in recorded]
    for row in missing:
        row._history_user = None  # nobody made this state a change; the record only holds it
    if missing:
        model.history.bulk_history_create(
            missing, default_change_reason=HISTORY_BASELINE_REASON, default_date=timezone.now()
        )
    return len(missing)


def _nested_sets_replace(*, agent: HumanAgent, nested: Mapping[str, Sequence[Row] | None]) -> bool:
    changed = False
    for name, rows in nested.items():
        if rows is None:  # not given: leave the set alone
            continue
        model, keys = NESTED_SETS[name]
        try:
            changed_here = _nested_replace(agent=agent, model=model, rows=rows, keys=keys)
        except IntegrityError as error:
            if not _is_unique_violation(error):
                raise  # a CHECK or foreign key: invalid input that validation should have caught
            # Raised on, the enclosing atomic block rolls the whole request back.
            message = _conflict_message(model, error)
            raise NestedRowsConflict(f"{name}: {message}", fields={name: [message]}) from error
        if changed_here and model is AgentSchedule:
            agent_schedules_changed.send(sender=HumanAgent, agent_id=agent.pk)
        changed |= changed_here
    return changed


def _is_unique_violation(error: IntegrityError) -> bool:
    # PostgreSQL's SQLSTATE 23505 (psycopg attaches it to the cause); SQLite only says it in words.
    return getattr(error.__cause__, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(error)


def _conflict_message(model: type[models.Model], error: IntegrityError) -> str:
    text = str(error)
    for constraint in model._meta.constraints:
        if constraint.name in text and constraint.violation_error_message:
            return constraint.get_violation_error_message()
    return f"The rows conflict with a uniqueness rule of the database ({text.splitlines()[0]})."


@transaction.atomic
def agent_create(
    *,
    code: str,
    name: str,
    email: str,
    skill_level: str,
    skills: Sequence[Row] = (),
    languages: Sequence[Row] = (),
    specializations: Sequence[Row] = (),
    schedules: Sequence[Row] = (),
    **attributes: Any,
) -> HumanAgent:
    """Create an agent with its nested sets, an offline availability row and a performance snapshot.

    Nested rows are dicts of model field values (a skill's `domain` may be a SkillDomain); the
    transaction makes the whole agent appear at once or not at all.
    """
    _check_editable(attributes)
    agent = HumanAgent(code=code, name=name, email=email, skill_level=skill_level, **attributes)
    agent.save()
    agent_ensure_live_rows(agent=agent)
    _nested_sets_replace(
        agent=agent,
        nested={
            "skills": skills,
            "languages": languages,
            "specializations": specializations,
            "schedules": schedules,
        },
    )
    return agent


@transaction.atomic
def agent_update(
    *,
    agent: HumanAgent,
    skills: Sequence[Row] | None = None,
    languages: Sequence[Row] | None = None,
    specializations: Sequence[Row] | None = None,
    schedules: Sequence[Row] | None = None,
    **attributes: Any,
) -> HumanAgent:
    """Change an agent's fields and replace the nested sets that are given (None leaves a set alone).

    All or nothing: an error in any nested row rolls back the agent's own changes too.
    """
    _check_editable(attributes)
    agent = agent_lock(agent_id=agent.pk)
    capacity_before = agent.max_concurrent_work
    changed = [name for name, value in attributes.items() if getattr(agent, name) != value]
    if changed:
        history_baseline_write(model=HumanAgent, rows=[copy.copy(agent)])
    for name in changed:
        setattr(agent, name, attributes[name])
    if changed:
        agent.save(update_fields=[*changed, "updated_at"])
    sets_changed = _nested_sets_replace(
        agent=agent,
        nested={
            "skills": skills,
            "languages": languages,
            "specializations": specializations,
            "schedules": schedules,
        },
    )
    if "is_active" in changed and not agent.is_active:
        agents_set_active(agent_ids=[agent.pk], active=False)  # takes the agent offline as well
    elif agent.is_active and (agent.max_concurrent_work > capacity_before or sets_changed):
        # More room, or skills, languages or schedules that may let the agent serve waiting work:
        # routing serves the queue to the agent now (serving order: the queue before new work).
        _notify_capacity_freed(agent.pk)
    return agent


def agent_lock(*, agent_id: int) -> HumanAgent:
    """Lock an agent for an edit in the lock order: its availability row (created if missing), then the
    agent row, both FOR NO KEY UPDATE. Returns the agent as stored now."""
    AgentAvailability.objects.select_for_update(no_key=True, of=("self",)).filter(agent_id=agent_id).first()
    agent = HumanAgent.objects.select_for_update(no_key=True, of=("self",)).get(pk=agent_id)
    if not AgentAvailability.objects.filter(agent_id=agent_id).exists():
        agent_ensure_live_rows(agent=agent)
    return agent


def agent_deactivate(*, agent: HumanAgent) -> None:
    """What DELETE does: the agent stays (cases and history refer to it) but is inactive and offline."""
    agents_set_active(agent_ids=[agent.pk], active=False)


# --- restoring deleted nested rows ------------------------------------------------------------------


@transaction.atomic
def agent_row_restore(*, agent: HumanAgent, model: type[models.Model], history_id: int) -> models.Model:
    """Bring back a deleted skill, language, specialization or schedule row of `agent` from its history.

    The row returns with its old id and the values it had when it was deleted, so its history reads on
    (simple-history records the restore as a creation by the current user). It is validated as any new
    row would be, against the agent's rows of today: a skill in a domain the agent has again, a domain
    that no longer exists, or a row that is already back is refused with RowNotRestorable. The agent row
    is locked first, as in `agent_update`, so a concurrent edit of the same set waits.
    """
    if model not in RESTORABLE_ROWS:
        raise RowNotRestorable(f"{model._meta.verbose_name} rows are not restored from history.")
    agent = agent_lock(agent_id=agent.pk)
    record = model.history.filter(history_id=history_id, agent_id=agent.pk).first()
    if record is None:
        raise NotFoundError(f"No {model._meta.verbose_name} history record {history_id} for this agent.")
    if record.history_type != "-":
        raise RowNotRestorable("Only a deleted row can be restored.")
    if model._default_manager.filter(pk=record.id).exists():
        raise RowNotRestorable(f"This {model._meta.verbose_name} exists again; nothing to restore.")
    row = record.instance
    row._state.adding = True
    try:
        row.full_clean()
    except ValidationError as error:
        raise RowNotRestorable(
            f"Cannot restore this {model._meta.verbose_name}: {' '.join(error.messages)}",
            fields=error.message_dict if hasattr(error, "error_dict") else {},
        ) from None
    row._change_reason = f"Restored from history record {history_id}"
    row.save(force_insert=True)
    if agent.is_active:
        _notify_capacity_freed(agent.pk)  # a skill or schedule back may let the agent serve waiting work
    return row
