"""Writes of the knowledge base. Every save leaves a historical record (django-simple-history) naming
the user, so an edit can be audited and reverted (the admin's history page)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from voice.access import VoiceCaller
from voice.models import KnowledgeEntry, Location, Organization
from voice.services.common import full_clean, same_organization

KNOWLEDGE_FIELDS = ("category", "title", "content", "tags", "priority", "is_active", "location")


def _as_user(caller: VoiceCaller, entry: KnowledgeEntry) -> None:
    if getattr(caller.user, "pk", None):
        entry._history_user = caller.user  # simple-history: the user of this change (API requests too)


@transaction.atomic
def knowledge_create(
    *, caller: VoiceCaller, organization: Organization | None = None, **attributes: Any
) -> KnowledgeEntry:
    location: Location | None = attributes.get("location")
    organization = organization or (
        location.organization if location is not None else caller.organization_for_create("knowledgeentry")
    )
    caller.require_write("knowledgeentry", organization)
    same_organization(organization, location=location)
    unknown = set(attributes) - set(KNOWLEDGE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    entry = KnowledgeEntry(organization=organization, **attributes)
    full_clean(entry)
    _as_user(caller, entry)
    entry.save()
    return entry


@transaction.atomic
def knowledge_update(*, caller: VoiceCaller, entry: KnowledgeEntry, **attributes: Any) -> KnowledgeEntry:
    caller.require_write("knowledgeentry", entry.organization)
    unknown = set(attributes) - set(KNOWLEDGE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    same_organization(entry.organization, location=attributes.get("location"))
    changed = [name for name, value in attributes.items() if getattr(entry, name) != value]
    if not changed:
        return entry
    for name in changed:
        setattr(entry, name, attributes[name])
    full_clean(entry)
    _as_user(caller, entry)
    entry.save()
    return entry


@transaction.atomic
def knowledge_delete(*, caller: VoiceCaller, entry: KnowledgeEntry) -> None:
    caller.require_write("knowledgeentry", entry.organization)
    _as_user(caller, entry)
    entry.delete()
