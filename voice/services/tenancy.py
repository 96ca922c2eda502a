"""Memberships: who belongs to which organization with which role, and the role groups in step.

A user is in "Voice staff" while they hold any membership and in "Voice managers" while they manage
any organization (voice.roles); every change of memberships goes through here, so the groups follow.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction

from voice.models import Membership, MembershipRole, Organization
from voice.roles import ROLE_GROUPS, VOICE_MANAGERS, VOICE_STAFF


def membership_groups_sync(*, user: Any) -> None:
    roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
    wanted = {VOICE_STAFF} if roles else set()
    if MembershipRole.MANAGER in roles:
        wanted.add(VOICE_MANAGERS)
    groups = {group.name: group for group in Group.objects.filter(name__in=ROLE_GROUPS.values())}
    user.groups.add(*[groups[name] for name in wanted if name in groups])
    user.groups.remove(*[group for name, group in groups.items() if name not in wanted])


@transaction.atomic
def membership_save(*, organization: Organization, user: Any, role: str) -> Membership:
    """Give `user` the role in `organization` (creating the membership or changing its role)."""
    membership, _ = Membership.objects.update_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    membership_groups_sync(user=user)
    return membership


@transaction.atomic
def membership_delete(*, membership: Membership) -> None:
    user = membership.user
    membership.delete()
    membership_groups_sync(user=user)
