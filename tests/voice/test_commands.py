"""seed_voice_demo (idempotent) and verify_voice_integrity (the seed's validation queries, a table,
exit 1 on a problem)."""

from __future__ import annotations

import datetime as dt
import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tests.factories.voice import (
    AgentConfigFactory,
    AppointmentFactory,
    CallFactory,
    KnowledgeEntryFactory,
    LocationFactory,
    OrganizationFactory,
    ProviderFactory,
    TurnFactory,
)
from voice.integrity import CHECKS, voice_integrity_run
from voice.models import (
    AgentConfig,
    Appointment,
    Call,
    CallEvent,
    KnowledgeEntry,
    Location,
    LocationHours,
    Organization,
    Provider,
    Service,
    Turn,
)

pytestmark = pytest.mark.django_db

MODELS = (
    Organization,
    Location,
    LocationHours,
    Service,
    Provider,
    AgentConfig,
    KnowledgeEntry,
    Appointment,
    Call,
    Turn,
    CallEvent,
)


def _state() -> dict[str, object]:
    counts = {model.__name__: model.objects.count() for model in MODELS}
    names = sorted(Location.objects.values_list("organization__slug", "name", "city", "country"))
    calls = sorted(Call.objects.values_list("call_id", "status"))
    digest = hashlib.sha256(
        repr((names, calls, sorted(AgentConfig.objects.values_list("version", "is_active")))).encode()
    )
    return {"counts": counts, "digest": digest.hexdigest()}


def test_the_demo_loads_businesses_with_locations_configs_facts_appointments_and_calls() -> None:
    out = StringIO()
    call_command("seed_voice_demo", stdout=out)
    assert set(Organization.objects.values_list("slug", flat=True)) == {"bright-smile", "northside-auto"}
    dental = Organization.objects.get(slug="bright-smile")
    assert dental.locations.count() == 3
    assert list(
        dental.agent_configs.filter(is_active=True)
        .values_list("version", "location__name")
        .order_by("version")
    ) == [
        (2, None),
        (3, "Downtown"),
    ]  # v1 is history, v2 the active one, v3 Downtown's override
    assert KnowledgeEntry.objects.filter(organization=dental, category="faq").exists()
    assert Appointment.objects.filter(organization=dental).count() > 10
    assert (
        Call.objects.filter(organization=dental).count() == 40
        and Turn.objects.exists()
        and CallEvent.objects.exists()
    )
    assert "appointments" in out.getvalue()
    call_command("verify_voice_integrity", stdout=StringIO())  # the demo obeys every rule


def test_the_demo_is_idempotent() -> None:
    call_command("seed_voice_demo", stdout=StringIO())
    first = _state()
    out = StringIO()
    call_command("seed_voice_demo", stdout=out)
    assert _state() == first
    assert "nothing to add" in out.getvalue()


def test_the_demo_fills_in_what_is_missing() -> None:
    call_command("seed_voice_demo", stdout=StringIO())
    first = _state()
    KnowledgeEntry.objects.filter(title="Parking").delete()
    call_command("seed_voice_demo", stdout=StringIO())
    assert KnowledgeEntry.objects.filter(title="Parking").count() == 1
    assert _state()["counts"]["KnowledgeEntry"] == first["counts"]["KnowledgeEntry"]


# --- verify_voice_integrity ----------------------------------------------------------------------------


def test_verify_passes_on_consistent_data_and_prints_the_seed_queries(tenant_a) -> None:
    out = StringIO()
    call_command("verify_voice_integrity", stdout=out)
    text = out.getvalue()
    assert f"All {len(CHECKS)} voice checks passed." in text
    assert "calls_with_missing_config" in text and "appointments_with_missing_location" in text
    assert "faq" in text and "knowledge category" in text


def _broken(kind: str) -> None:
    org, other = OrganizationFactory(), OrganizationFactory()
    if kind == "cross_tenant_appointments":
        appointment = AppointmentFactory(location=LocationFactory(organization=org))
        Appointment.objects.filter(pk=appointment.pk).update(provider=ProviderFactory(organization=other))
    elif kind == "cross_tenant_calls":
        CallFactory(organization=org, location=LocationFactory(organization=other))
    elif kind == "cross_tenant_configs":
        AgentConfigFactory(organization=org)
        AgentConfigFactory(organization=org, location=LocationFactory(organization=other))
    elif kind == "cross_tenant_knowledge":
        KnowledgeEntryFactory(organization=org, location=LocationFactory(organization=other))
    elif kind == "cross_tenant_call_rows":
        TurnFactory(call=CallFactory(organization=org), organization=other)
    elif kind == "cross_tenant_location_links":
        location = LocationFactory(organization=org)
        location.providers.add(ProviderFactory(organization=other))
    elif kind == "organizations_without_active_config":
        AgentConfigFactory(organization=org, is_active=False)
    elif kind == "stale_open_calls":
        CallFactory(
            organization=org,
            status="in_progress",
            ended_at=None,
            started_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC) - dt.timedelta(days=3000),
        )
    elif kind == "double_booked_providers":
        # As a raw import would arrive: past the services and, on PostgreSQL, with the constraint dropped
        # (as during a migration); the test's transaction puts it back.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "ALTER TABLE voice_appointment DROP CONSTRAINT voice_appointment_no_double_booking"
                )
        first = AppointmentFactory(location=LocationFactory(organization=org))
        AppointmentFactory(
            location=first.location,
            service=first.service,
            provider=first.provider,
            start_at=first.start_at,
            end_at=first.end_at,
        )


@pytest.mark.parametrize(
    "kind",
    [
        "cross_tenant_appointments",
        "cross_tenant_calls",
        "cross_tenant_configs",
        "cross_tenant_knowledge",
        "cross_tenant_call_rows",
        "cross_tenant_location_links",
        "organizations_without_active_config",
        "stale_open_calls",
        "double_booked_providers",
    ],
)
def test_verify_finds_each_problem_and_exits_non_zero(kind) -> None:
    _broken(kind)
    results = {result.name: result for result in voice_integrity_run()}
    assert results[kind].count >= 1
    assert [name for name, result in results.items() if not result.ok] == [kind]
    out = StringIO()
    with pytest.raises(CommandError, match=f"Voice integrity problems found: {kind}"):
        call_command("verify_voice_integrity", stdout=out)
    assert "FAIL" in out.getvalue()


def test_the_seed_referential_queries_find_dangling_rows() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("foreign keys are checked at once on PostgreSQL; the dangling rows are built on SQLite")
    config = AgentConfigFactory()
    call = CallFactory(organization=config.organization, agent_config=config)
    appointment = AppointmentFactory()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys = OFF")
        cursor.execute("UPDATE voice_call SET agent_config_id = 999999 WHERE id = %s", [call.pk])
        cursor.execute("UPDATE voice_appointment SET location_id = 999999 WHERE id = %s", [appointment.pk])
        cursor.execute("PRAGMA foreign_keys = ON")
    results = {
        result.name: result
        for result in voice_integrity_run(["calls_with_missing_config", "appointments_with_missing_location"])
    }
    assert results["calls_with_missing_config"].sample == [str(call.pk)]
    assert results["appointments_with_missing_location"].sample == [str(appointment.pk)]
    with connection.cursor() as cursor:  # put them back: the test's foreign-key check runs at its end
        cursor.execute("UPDATE voice_call SET agent_config_id = %s WHERE id = %s", [config.pk, call.pk])
        cursor.execute(
            "UPDATE voice_appointment SET location_id = %s WHERE id = %s",
            [appointment.location_id, appointment.pk],
        )


def test_verify_names_an_unknown_check_and_lists_the_checks() -> None:
    with pytest.raises(CommandError, match="unknown check"):
        call_command("verify_voice_integrity", "--check", "nope", stdout=StringIO())
    out = StringIO()
    call_command("verify_voice_integrity", "--list", stdout=out)
    assert all(name in out.getvalue() for name in CHECKS)
