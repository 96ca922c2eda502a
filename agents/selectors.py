"""Reads of agents, already joined and prefetched so that a page costs the same queries for 3 rows or 300.

An agent page is one query for the agents joined to their availability and performance (one-to-one,
so `select_related`), plus one query per nested set (skills with their domain, languages,
specializations, schedules). Nothing here locks; the locking reads live in agents.services.

An agent's history page merges the agent's own records with the history of its inline rows
(`agent_inline_history`) at a constant number of queries: one per related model (with the id of each
record's predecessor and whether the row still exists as subqueries) and one to fetch those
predecessors for diffing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from simple_history.template_utils import HistoricalRecordContextHelper

from agents.models import (
    AgentAvailability,
    AgentLanguage,
    AgentSchedule,
    AgentSkill,
    AgentSpecialization,
    HumanAgent,
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


def agent_detail(*, code: str) -> HumanAgent:
    """One agent by its code, joined and prefetched like `agent_list`; unknown code -> AgentNotFound."""
    try:
        return agent_list().get(code=code)
    except HumanAgent.DoesNotExist:
        raise AgentNotFound(code=code) from None


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
    # AgentSkill's own __str__ names the domain by id; the history query already joined the domain.
    if record.instance_type is AgentSkill:
        domain = getattr(record, "domain", None)
        return f"{domain.code if domain else record.domain_id}: {record.get_proficiency_display()}"
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
                changes = HistoricalRecordContextHelper(model, record).context_for_delta_changes(delta)
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
