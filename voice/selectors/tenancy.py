"""The organizations a caller reaches."""

from __future__ import annotations

from django.db.models import QuerySet

from voice.access import VoiceCaller
from voice.models import Organization


def organization_list(*, caller: VoiceCaller) -> QuerySet[Organization]:
    """A superuser's every organization, else the caller's member organizations (active ones)."""
    queryset = Organization.objects.order_by("name")
    if caller.is_superuser and caller.organization is None:
        return queryset
    if caller.organization is not None:
        return queryset.filter(pk=caller.organization.pk)
    return queryset.filter(pk__in=sorted(caller.roles))
