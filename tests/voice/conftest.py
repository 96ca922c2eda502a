"""Voice fixtures: two organizations and their people, API clients, and a small world per tenant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from agents.roles import ANALYSTS
from tests.factories.voice import (
    AgentConfigFactory,
    AppointmentFactory,
    CallEventFactory,
    CallFactory,
    KnowledgeEntryFactory,
    LocationExceptionFactory,
    LocationFactory,
    OrganizationFactory,
    ProviderFactory,
    ServiceFactory,
    TurnFactory,
)
from voice.access import VoiceCaller, caller_for_organization, caller_for_user
from voice.models import MembershipRole, Organization
from voice.services.tenancy import membership_save


@pytest.fixture
def org_a(db) -> Organization:
    return OrganizationFactory(name="Acme Dental", slug="acme")


@pytest.fixture
def org_b(db) -> Organization:
    return OrganizationFactory(name="Globex Auto", slug="globex")


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    def make(username: str, *, group: str | None = None, superuser: bool = False, **roles: str) -> User:
        """A staff user with an optional project group and memberships (slug=role), which put them in
        the voice role groups as the membership service does."""
        # No password (hashing one costs ~0.1 s a user): tests sign in with tokens and force_login.
        user = User.objects.create(
            username=username,
            email=f"{username}@example.com",
            is_staff=True,
            is_superuser=superuser,
            password="!",
        )
        if group:
            user.groups.add(Group.objects.get(name=group))
        for slug, role in roles.items():
            membership_save(organization=Organization.objects.get(slug=slug), user=user, role=role)
        return User.objects.get(pk=user.pk)

    return make


@pytest.fixture
def manager_a(make_user, org_a) -> User:
    return make_user("manager_a", acme=MembershipRole.MANAGER)


@pytest.fixture
def staff_a(make_user, org_a) -> User:
    return make_user("staff_a", acme=MembershipRole.STAFF)


@pytest.fixture
def manager_b(make_user, org_b) -> User:
    return make_user("manager_b", globex=MembershipRole.MANAGER)


@pytest.fixture
def analyst_a(make_user, org_a) -> User:
    return make_user("analyst_a", group=ANALYSTS, acme=MembershipRole.STAFF)


@pytest.fixture
def token_client() -> Callable[[User], APIClient]:
    def client_for(user: User) -> APIClient:
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return client_for


@pytest.fixture
def client_a(token_client, manager_a) -> APIClient:
    return token_client(manager_a)


@pytest.fixture
def client_b(token_client, manager_b) -> APIClient:
    return token_client(manager_b)


@pytest.fixture
def caller_a(org_a) -> VoiceCaller:
    return caller_for_organization(org_a)


@pytest.fixture
def caller_of() -> Callable[..., VoiceCaller]:
    def caller(user: User, slug: str | None = None) -> VoiceCaller:
        return caller_for_user(user, organization_slug=slug)

    return caller


def next_weekday(weekday: int, *, hour: int, minute: int = 0, zone: str = "America/Chicago") -> dt.datetime:
    """The next date (at least tomorrow) falling on `weekday` (0 Monday), at hour:minute in `zone`."""
    from zoneinfo import ZoneInfo

    today = timezone.now().astimezone(ZoneInfo(zone)).date()
    day = today + dt.timedelta(days=1)
    while day.weekday() != weekday:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo(zone))


@dataclass
class Tenant:
    """One organization's rows of every voice kind."""

    organization: Organization
    location: Any
    service: Any
    provider: Any
    appointment: Any
    config: Any
    call: Any
    knowledge: Any


def build_tenant(organization: Organization, label: str) -> Tenant:
    service = ServiceFactory(organization=organization, name=f"{label} cleaning")
    provider = ProviderFactory(organization=organization, name=f"{label} provider", services=[service])
    location = LocationFactory(
        organization=organization, name=f"{label} Downtown", services=[service], providers=[provider]
    )
    LocationExceptionFactory(location=location)
    appointment = AppointmentFactory(
        location=location, service=service, provider=provider, customer_name=f"{label} customer"
    )
    config = AgentConfigFactory(organization=organization, notes=f"{label} config")
    call = CallFactory(
        organization=organization, location=location, agent_config=config, call_id=f"{label}-call"
    )
    TurnFactory(call=call, turn_index=0, text=f"{label} says hello")
    CallEventFactory(call=call, turn_index=0)
    knowledge = KnowledgeEntryFactory(organization=organization, title=f"{label} parking", tags=["parking"])
    return Tenant(organization, location, service, provider, appointment, config, call, knowledge)


@pytest.fixture
def tenant_a(org_a) -> Tenant:
    return build_tenant(org_a, "Acme")


@pytest.fixture
def tenant_b(org_b) -> Tenant:
    return build_tenant(org_b, "Globex")
