"""Migration 0003_seed_roster, forward and back, with django-test-migrations.

These tests rebuild the schema, so they are transactional: pytest-django runs them after the tests that
use `db`, and the test database is flushed afterwards (post_migrate then recreates content types,
permissions and the role groups). `seed_rows_back_after_flush` puts the seeded roster back too, so a test
running after this module sees the same rows a freshly migrated database holds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

seed_roster = importlib.import_module("agents.migrations.0003_seed_roster")
pytestmark = pytest.mark.usefixtures("seed_rows_back_after_flush")

BEFORE = ("agents", "0002_roles")
SEEDED = ("agents", "0003_seed_roster")
ROSTER_CODES = ["agent_001", "agent_002", "agent_003"]
VOCABULARY = [
    "account_management",
    "billing",
    "general",
    "integrations",
    "product_support",
    "refunds",
    "technical",
]
AGENT_TABLES = [
    "HumanAgent",
    "SkillDomain",
    "AgentSkill",
    "AgentLanguage",
    "AgentSpecialization",
    "AgentPerformance",
    "AgentAvailability",
    "AgentSchedule",
    "AgentPeriodMetrics",
]


def _model(state: Any, name: str) -> Any:
    return state.apps.get_model("agents", name)


def _counts(state: Any) -> dict[str, int]:
    return {name: _model(state, name).objects.count() for name in AGENT_TABLES}


def _agents_checksum(state: Any) -> str:
    rows = sorted(_model(state, "HumanAgent").objects.values_list("code", "name", "email"))
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _snapshot(state: Any) -> dict[str, Any]:
    """Everything an unrelated agent and a pre-existing domain consist of, as plain values."""
    return {
        "counts": _counts(state),
        "agents": _agents_checksum(state),
        "domains": sorted(_model(state, "SkillDomain").objects.values_list("code", "name", "description")),
        "skills": sorted(
            _model(state, "AgentSkill").objects.values_list("agent__code", "domain__code", "proficiency")
        ),
    }


def _create_agent(state: Any, code: str, **fields: Any) -> Any:
    defaults = {
        "name": f"Agent {code}",
        "email": f"{code}@example.com",
        "employee_id": f"E-{code}",
        "skill_level": "intermediate",
    }
    return _model(state, "HumanAgent").objects.create(code=code, **{**defaults, **fields})


def test_forward_creates_the_roster_with_the_seed_mapping(migrator) -> None:
    # given
    migrator.apply_initial_migration(BEFORE)
    # when
    state = migrator.apply_tested_migration(SEEDED)
    # then
    assert _counts(state) == {
        "HumanAgent": 3,
        "SkillDomain": 7,
        "AgentSkill": 9,
        "AgentLanguage": 7,
        "AgentSpecialization": 6,
        "AgentPerformance": 3,
        "AgentAvailability": 3,
        "AgentSchedule": 15,
        "AgentPeriodMetrics": 0,
    }
    HumanAgent = _model(state, "HumanAgent")
    agents = {
        agent.code: agent
        for agent in HumanAgent.objects.order_by("code").select_related("availability", "performance")
    }
    assert list(agents) == ROSTER_CODES
    assert [
        (a.name, a.email, a.employee_id, a.skill_level, a.max_concurrent_cases, a.frustration_tolerance)
        for a in agents.values()
    ] == [
        ("Sarah Johnson", "sarah.johnson@company.com", "agent_001", "senior", 5, "high"),
        ("Mike Chen", "mike.chen@company.com", "agent_002", "junior", 3, "medium"),
        ("Emily Rodriguez", "emily.rodriguez@company.com", "agent_003", "senior", 4, "high"),
    ]
    for agent in agents.values():
        assert agent.department == "Customer Support"
        assert agent.hire_date == dt.date(2023, 1, 1)
        assert agent.is_active is True

    skills = sorted(
        _model(state, "AgentSkill").objects.values_list(
            "agent__code", "domain__code", "proficiency", "years_experience", "last_updated"
        )
    )
    senior = ("advanced", Decimal("3.0"), seed_roster.MIGRATION_DATE)
    junior = ("intermediate", Decimal("1.5"), seed_roster.MIGRATION_DATE)
    assert skills == [
        ("agent_001", "account_management", *senior),
        ("agent_001", "billing", *senior),
        ("agent_001", "technical", *senior),
        ("agent_002", "billing", *junior),
        ("agent_002", "general", *junior),
        ("agent_002", "refunds", *junior),
        ("agent_003", "integrations", *senior),
        ("agent_003", "product_support", *senior),
        ("agent_003", "technical", *senior),
    ]
    assert sorted(_model(state, "SkillDomain").objects.values_list("code", flat=True)) == VOCABULARY

    assert sorted(
        _model(state, "AgentLanguage").objects.values_list("agent__code", "language_code", "proficiency")
    ) == [
        ("agent_001", "en", "native"),
        ("agent_001", "es", "conversational"),
        ("agent_002", "en", "native"),
        ("agent_002", "zh", "conversational"),
        ("agent_003", "en", "native"),
        ("agent_003", "es", "conversational"),
        ("agent_003", "pt", "conversational"),
    ]

    specializations = sorted(
        _model(state, "AgentSpecialization").objects.values_list(
            "agent__code", "specialization", "confidence", "case_count", "success_rate", "insurance_line"
        )
    )
    track_record = (Decimal("0.85"), 50, Decimal("0.92"), None)
    assert specializations == [
        ("agent_001", "complex_technical_issues", *track_record),
        ("agent_001", "enterprise_accounts", *track_record),
        ("agent_002", "billing_issues", *track_record),
        ("agent_002", "refund_processing", *track_record),
        ("agent_003", "api_integrations", *track_record),
        ("agent_003", "enterprise_support", *track_record),
    ]

    performance = {
        code: (
            p.cases_today,
            p.cases_this_week,
            p.cases_this_month,
            p.avg_resolution_minutes,
            p.csat_score,
            p.escalation_rate,
            p.first_contact_resolution_rate,
            p.consecutive_difficult_cases,
            p.stress_score,
        )
        for code, p in ((code, agent.performance) for code, agent in agents.items())
    }
    common = (Decimal("0.85"), 0, Decimal("0.2"))
    assert performance == {
        "agent_001": (8, 35, 140, 18, Decimal("4.7"), Decimal("0.12"), *common),
        "agent_002": (8, 35, 140, 25, Decimal("4.4"), Decimal("0.18"), *common),
        "agent_003": (8, 35, 140, 22, Decimal("4.8"), Decimal("0.08"), *common),
    }

    # The seed's current_workload 2 lives once, on availability; capacities 5, 3, 4 leave all available.
    for agent in agents.values():
        availability = agent.availability
        assert (availability.status, availability.current_load) == ("available", 2)
        assert availability.manual_override is False
        assert availability.override_reason == ""
        assert availability.status_since is not None

    schedules = _model(state, "AgentSchedule").objects.all()
    assert sorted({(s.agent.code, s.day_of_week) for s in schedules}) == sorted(
        (code, day)
        for code in ROSTER_CODES
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
    )
    assert {
        (s.start_time, s.end_time, s.timezone, s.effective_from, s.effective_until, s.schedule_type)
        for s in schedules
    } == {
        (
            dt.time(9, 0),
            dt.time(17, 0),
            "America/Los_Angeles",
            seed_roster.MIGRATION_DATE,
            None,
            "regular",
        )
    }


def test_forward_keeps_existing_vocabulary_rows_as_they_are(migrator) -> None:
    # given a billing domain someone already named their way
    old_state = migrator.apply_initial_migration(BEFORE)
    _model(old_state, "SkillDomain").objects.create(code="billing", name="Billing & Payments")
    # when
    state = migrator.apply_tested_migration(SEEDED)
    # then
    billing = _model(state, "SkillDomain").objects.get(code="billing")
    assert (billing.name, billing.description) == ("Billing & Payments", "")
    assert _model(state, "SkillDomain").objects.count() == 7
    assert _model(state, "AgentSkill").objects.filter(domain=billing).count() == 2


def test_forward_skips_an_agent_that_already_exists(migrator) -> None:
    # given agent_001 is already in the table, with details of its own
    old_state = migrator.apply_initial_migration(BEFORE)
    _create_agent(old_state, "agent_001", name="Sarah J.", email="sj@example.com", skill_level="expert")
    # when
    state = migrator.apply_tested_migration(SEEDED)
    # then agent_001 is untouched and gets no rows; the other two arrive in full
    sarah = _model(state, "HumanAgent").objects.get(code="agent_001")
    assert (sarah.name, sarah.email, sarah.skill_level) == ("Sarah J.", "sj@example.com", "expert")
    for name in ("AgentSkill", "AgentLanguage", "AgentSpecialization", "AgentSchedule"):
        assert not _model(state, name).objects.filter(agent=sarah).exists()
    assert not _model(state, "AgentAvailability").objects.filter(agent=sarah).exists()
    assert not _model(state, "AgentPerformance").objects.filter(agent=sarah).exists()
    counts = _counts(state)
    assert counts["HumanAgent"] == 3
    assert (counts["AgentSkill"], counts["AgentLanguage"], counts["AgentSchedule"]) == (6, 5, 10)


def test_forward_skips_an_agent_whose_email_is_taken(migrator) -> None:
    # given Mike's e-mail belongs to an agent under another code
    old_state = migrator.apply_initial_migration(BEFORE)
    _create_agent(old_state, "mike", email="mike.chen@company.com")
    # when
    state = migrator.apply_tested_migration(SEEDED)
    # then
    codes = sorted(_model(state, "HumanAgent").objects.values_list("code", flat=True))
    assert codes == ["agent_001", "agent_003", "mike"]


def test_running_the_forward_steps_again_changes_nothing(migrator) -> None:
    # given
    migrator.apply_initial_migration(BEFORE)
    state = migrator.apply_tested_migration(SEEDED)
    before = _snapshot(state)
    ids_before = sorted(_model(state, "AgentSchedule").objects.values_list("pk", flat=True))
    # when
    seed_roster.vocabulary_seed(state.apps, None)
    seed_roster.roster_seed(state.apps, None)
    # then
    assert _snapshot(state) == before
    assert sorted(_model(state, "AgentSchedule").objects.values_list("pk", flat=True)) == ids_before


def test_reverse_removes_exactly_what_forward_added(migrator) -> None:
    # given an unrelated agent with a skill in a domain that predates the migration
    old_state = migrator.apply_initial_migration(BEFORE)
    claims = _model(old_state, "SkillDomain").objects.create(code="claims", name="Claims")
    billing = _model(old_state, "SkillDomain").objects.create(code="billing", name="Billing")
    zoe = _create_agent(old_state, "agent_900", name="Zoe Park")
    for domain in (claims, billing):
        _model(old_state, "AgentSkill").objects.create(agent=zoe, domain=domain, proficiency="expert")
    _model(old_state, "AgentLanguage").objects.create(agent=zoe, language_code="fr", proficiency="fluent")
    before = _snapshot(old_state)
    # when
    seeded = migrator.apply_tested_migration(SEEDED)
    assert _counts(seeded)["HumanAgent"] == 4
    reverted = migrator.apply_tested_migration(BEFORE)
    # then
    assert _snapshot(reverted) == before
    assert _counts(reverted) == {
        **dict.fromkeys(AGENT_TABLES, 0),
        "HumanAgent": 1,
        "SkillDomain": 2,
        "AgentSkill": 2,
        "AgentLanguage": 1,
    }


def test_reverse_keeps_a_vocabulary_domain_that_is_in_use(migrator) -> None:
    # given the roster is in, and someone else's agent takes up "refunds"
    migrator.apply_initial_migration(BEFORE)
    seeded = migrator.apply_tested_migration(SEEDED)
    refunds = _model(seeded, "SkillDomain").objects.get(code="refunds")
    agent = _create_agent(seeded, "agent_900")
    _model(seeded, "AgentSkill").objects.create(agent=agent, domain=refunds, proficiency="basic")
    checksum = _agents_checksum(seeded)
    # when
    reverted = migrator.apply_tested_migration(BEFORE)
    # then
    assert list(_model(reverted, "SkillDomain").objects.values_list("code", flat=True)) == ["refunds"]
    assert list(_model(reverted, "HumanAgent").objects.values_list("code", flat=True)) == ["agent_900"]
    assert _agents_checksum(reverted) != checksum  # the roster left...
    assert _model(reverted, "AgentSkill").objects.get().agent.code == "agent_900"  # ...and nothing else


def test_reverse_leaves_a_same_code_agent_it_did_not_add(migrator) -> None:
    # given agent_002 existed before, so forward skipped it
    old_state = migrator.apply_initial_migration(BEFORE)
    _create_agent(old_state, "agent_002", name="Michael Chen", email="m.chen@example.com")
    before = _snapshot(old_state)
    # when
    migrator.apply_tested_migration(SEEDED)
    reverted = migrator.apply_tested_migration(BEFORE)
    # then
    assert _snapshot(reverted) == before


def _agents_leaf() -> tuple[str, str]:
    leaves = MigrationLoader(connection).graph.leaf_nodes("agents")
    assert len(leaves) == 1, f"agents has more than one leaf migration: {leaves}"
    return leaves[0]


def test_agents_migrate_to_zero_and_back_on_the_full_chain(migrator) -> None:
    # given a fully migrated database (reset by the migrator fixture afterwards)
    call_command("migrate", verbosity=0)
    tables = set(connection.introspection.table_names())
    assert "agents_humanagent" in tables
    # when
    call_command("migrate", "agents", "zero", verbosity=0)
    # then
    assert not {t for t in connection.introspection.table_names() if t.startswith("agents_")}
    from django.contrib.auth.models import Group

    assert not Group.objects.filter(name__in=["Supervisors", "Analysts"]).exists()
    # when
    call_command("migrate", verbosity=0)
    # then
    assert set(connection.introspection.table_names()) == tables
    from agents.models import HumanAgent

    assert list(HumanAgent.objects.values_list("code", flat=True)) == ROSTER_CODES
    assert Group.objects.filter(name__in=["Supervisors", "Analysts"]).count() == 2
    applied = MigrationLoader(connection).applied_migrations
    assert _agents_leaf() in applied


# --- 0002 stands on its own; 0004/0005 move blank specialization keys to NULL --------------------------


def test_the_roles_migration_imports_no_application_code() -> None:
    # a migration must not change meaning when agents.roles changes later: it keeps its own copy
    roles_migration = importlib.import_module("agents.migrations.0002_roles")
    source = Path(roles_migration.__file__).read_text()
    assert "from agents" not in source and "import agents" not in source
    live = importlib.import_module("agents.roles")
    # frozen from the table of its day; today's only adds to it (new models are granted by the post_migrate
    # sync, never by editing the migration)
    for app_label, models in roles_migration.SUPERVISOR_EDITABLE.items():
        assert models <= live.SUPERVISOR_EDITABLE[app_label], app_label
    assert (roles_migration.SUPERVISORS, roles_migration.ANALYSTS) == (live.SUPERVISORS, live.ANALYSTS)


BLANKS_TO_NULL = ("agents", "0004_specialization_blanks_to_null")
AUDIT_SCHEMA = ("agents", "0005_audit_constraints_and_history")


def test_blank_specialization_keys_become_null_and_then_cannot_come_back(migrator) -> None:
    # given rows written before the audit with '' for "no line" / "every segment"
    old_state = migrator.apply_initial_migration(SEEDED)
    agent = _create_agent(old_state, "agent_910")
    specialization = _model(old_state, "AgentSpecialization")
    specialization.objects.create(agent=agent, specialization="a", insurance_line="", customer_segment="")
    specialization.objects.create(agent=agent, specialization="b", insurance_line="auto", customer_segment="")
    # when
    state = migrator.apply_tested_migration(AUDIT_SCHEMA)
    # then
    rows = _model(state, "AgentSpecialization").objects.filter(agent__code="agent_910")
    assert sorted(rows.values_list("specialization", "insurance_line", "customer_segment")) == [
        ("a", None, None),
        ("b", "auto", None),
    ]
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        rows.filter(specialization="a").update(customer_segment="")
    # and back: the schema step reverses, the data step is a no-op
    reverted = migrator.apply_tested_migration(BEFORE)
    assert _model(reverted, "HumanAgent").objects.filter(code="agent_910").exists()
