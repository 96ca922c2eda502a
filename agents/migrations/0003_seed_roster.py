"""Move the legacy hard-coded roster (seed 000, section 2.1) into the agents tables.

Two data steps, no schema change:

1. The skill-domain vocabulary: the seed's general list (technical, billing, account_management, general,
   refunds, product_support, integrations) plus any domain a roster agent uses, by `get_or_create` on code.
2. The three agents (agent_001 Sarah Johnson, agent_002 Mike Chen, agent_003 Emily Rodriguez) with the
   seed's mapping: skills (junior -> intermediate, senior -> advanced, else intermediate; 3.0 years for
   senior, else 1.5), languages, specializations (0.85 / 50 / 0.92), a performance snapshot, availability
   and a Monday-Friday 09:00-17:00 schedule. Two seed mistakes are fixed on the way in: languages are
   stored as ISO 639-1 codes (`english` -> `en`, `mandarin` -> `zh`, ...) and the schedule's "PST", which is
   not an IANA zone, becomes America/Los_Angeles. The seed's `current_workload = 2` is stored once, as
   `AgentAvailability.current_load` (AgentPerformance derives it).

`last_updated` (skills) and `effective_from` (schedules) are MIGRATION_DATE, the date this migration was
written, rather than the day it happens to run, so every database holds the same roster.

Idempotent: an agent whose code, e-mail or employee id is already taken is skipped entirely (nothing is
added or changed for it), so running the step against a database that already holds the roster changes
nothing and duplicates nothing.

Reverse, the honest simple rule:
- it deletes the agents whose code, e-mail and employee id all equal a roster entry's (their skills,
  languages, specializations, schedules, availability and performance go by cascade). An agent that was
  there before this migration with the same code but other details is left alone; one that was identical
  in all three cannot be told apart from the migrated one and is deleted with it. Rows elsewhere that
  protect an agent (routing's case assignments) stop the reverse with ProtectedError rather than lose
  work history: unwind those first;
- it deletes a vocabulary domain only if its description still carries VOCABULARY_MARKER (so this
  migration created it) and nothing references it.
Writes go through the historical models, so simple-history records no history rows for them.
"""

import datetime as dt
from decimal import Decimal

from django.db import migrations
from django.db.models import Q
from django.utils import timezone

MIGRATION_DATE = dt.date(2026, 11, 23)
BATCH_SIZE = 500
VOCABULARY_MARKER = "Skill vocabulary of the legacy roster (seed 000)."

# The seed's general vocabulary: code -> display name.
SKILL_VOCABULARY: dict[str, str] = {
    "technical": "Technical",
    "billing": "Billing",
    "account_management": "Account Management",
    "general": "General",
    "refunds": "Refunds",
    "product_support": "Product Support",
    "integrations": "Integrations",
}

# Frozen copy of agents.languages.LEGACY_LANGUAGE_NAMES for the names the roster uses: a migration must
# not change meaning when application code changes later.
LANGUAGE_CODES = {"english": "en", "spanish": "es", "mandarin": "zh", "portuguese": "pt"}

WORKING_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
SCHEDULE_TIMEZONE = "America/Los_Angeles"  # the seed said "PST", which is not an IANA zone
LEGACY_CURRENT_WORKLOAD = 2

# Seed 000 section 2.1, verbatim apart from the key names.
ROSTER: list[dict] = [
    {
        "code": "agent_001",
        "name": "Sarah Johnson",
        "email": "sarah.johnson@company.com",
        "skills": ["technical", "billing", "account_management"],
        "skill_level": "senior",
        "languages": ["english", "spanish"],
        "max_concurrent": 5,
        "frustration_tolerance": "high",
        "specializations": ["complex_technical_issues", "enterprise_accounts"],
        "metrics": {"avg_resolution_time": 18, "customer_satisfaction": "4.7", "escalation_rate": "0.12"},
    },
    {
        "code": "agent_002",
        "name": "Mike Chen",
        "email": "mike.chen@company.com",
        "skills": ["general", "billing", "refunds"],
        "skill_level": "junior",
        "languages": ["english", "mandarin"],
        "max_concurrent": 3,
        "frustration_tolerance": "medium",
        "specializations": ["billing_issues", "refund_processing"],
        "metrics": {"avg_resolution_time": 25, "customer_satisfaction": "4.4", "escalation_rate": "0.18"},
    },
    {
        "code": "agent_003",
        "name": "Emily Rodriguez",
        "email": "emily.rodriguez@company.com",
        "skills": ["technical", "product_support", "integrations"],
        "skill_level": "senior",
        "languages": ["english", "spanish", "portuguese"],
        "max_concurrent": 4,
        "frustration_tolerance": "high",
        "specializations": ["api_integrations", "enterprise_support"],
        "metrics": {"avg_resolution_time": 22, "customer_satisfaction": "4.8", "escalation_rate": "0.08"},
    },
]

PROFICIENCY_BY_SKILL_LEVEL = {"junior": "intermediate", "senior": "advanced"}


def _employee_id(entry: dict) -> str:
    return entry["code"]  # the seed used the agent id as employee id "for now"


def vocabulary_seed(apps, schema_editor) -> None:
    SkillDomain = apps.get_model("agents", "SkillDomain")
    codes = dict(SKILL_VOCABULARY)
    for entry in ROSTER:
        for code in entry["skills"]:
            codes.setdefault(code, code.replace("_", " ").title())
    existing = set(SkillDomain.objects.filter(code__in=codes).values_list("code", flat=True))
    SkillDomain.objects.bulk_create(
        [
            SkillDomain(code=code, name=name, description=VOCABULARY_MARKER)
            for code, name in codes.items()
            if code not in existing
        ],
        batch_size=BATCH_SIZE,
    )


def vocabulary_remove(apps, schema_editor) -> None:
    SkillDomain = apps.get_model("agents", "SkillDomain")
    created_here = SkillDomain.objects.filter(
        code__in=[*SKILL_VOCABULARY, *(code for entry in ROSTER for code in entry["skills"])],
        description=VOCABULARY_MARKER,
    )
    # Keep a domain anything still points at (agent skills, and whatever later migrations relate to it).
    for relation in SkillDomain._meta.related_objects:
        created_here = created_here.filter(**{f"{relation.name}__isnull": True})
    SkillDomain.objects.filter(pk__in=list(created_here.values_list("pk", flat=True))).delete()


def _roster_to_add(HumanAgent) -> list[dict]:
    taken = HumanAgent.objects.filter(
        Q(code__in=[entry["code"] for entry in ROSTER])
        | Q(email__in=[entry["email"] for entry in ROSTER])
        | Q(employee_id__in=[_employee_id(entry) for entry in ROSTER])
    ).values_list("code", "email", "employee_id")
    taken_values = {value for row in taken for value in row if value}
    return [
        entry for entry in ROSTER if not {entry["code"], entry["email"], _employee_id(entry)} & taken_values
    ]


def _capacity_field(HumanAgent) -> str:
    """The capacity column's name: max_concurrent_cases here, max_concurrent_work since agents 0007. The
    test suite replays this seed on the current models after a flush (tests/conftest.py)."""
    names = {field.name for field in HumanAgent._meta.get_fields()}
    return "max_concurrent_cases" if "max_concurrent_cases" in names else "max_concurrent_work"


def roster_seed(apps, schema_editor) -> None:
    HumanAgent = apps.get_model("agents", "HumanAgent")
    SkillDomain = apps.get_model("agents", "SkillDomain")
    AgentSkill = apps.get_model("agents", "AgentSkill")
    AgentLanguage = apps.get_model("agents", "AgentLanguage")
    AgentSpecialization = apps.get_model("agents", "AgentSpecialization")
    AgentPerformance = apps.get_model("agents", "AgentPerformance")
    AgentAvailability = apps.get_model("agents", "AgentAvailability")
    AgentSchedule = apps.get_model("agents", "AgentSchedule")

    entries = _roster_to_add(HumanAgent)
    if not entries:
        return
    HumanAgent.objects.bulk_create(
        [
            HumanAgent(
                code=entry["code"],
                name=entry["name"],
                email=entry["email"],
                employee_id=_employee_id(entry),
                department="Customer Support",
                hire_date=dt.date(2023, 1, 1),
                skill_level=entry["skill_level"],
                **{_capacity_field(HumanAgent): entry["max_concurrent"]},
                frustration_tolerance=entry["frustration_tolerance"],
                is_active=True,
            )
            for entry in entries
        ],
        batch_size=BATCH_SIZE,
    )
    # Re-read the keys: not every backend returns them from bulk_create.
    agent_ids = dict(
        HumanAgent.objects.filter(code__in=[entry["code"] for entry in entries]).values_list("code", "pk")
    )
    domain_ids = dict(
        SkillDomain.objects.filter(
            code__in={code for entry in entries for code in entry["skills"]}
        ).values_list("code", "pk")
    )
    now = timezone.now()

    skills, languages, specializations, performances, availabilities, schedules = [], [], [], [], [], []
    for entry in entries:
        agent_id = agent_ids[entry["code"]]
        senior = entry["skill_level"] == "senior"
        for code in entry["skills"]:
            skills.append(
                AgentSkill(
                    agent_id=agent_id,
                    domain_id=domain_ids[code],
                    proficiency=PROFICIENCY_BY_SKILL_LEVEL.get(entry["skill_level"], "intermediate"),
                    years_experience=Decimal("3.0") if senior else Decimal("1.5"),
                    last_updated=MIGRATION_DATE,
                )
            )
        for language in entry["languages"]:
            languages.append(
                AgentLanguage(
                    agent_id=agent_id,
                    language_code=LANGUAGE_CODES[language],
                    proficiency="native" if language == "english" else "conversational",
                )
            )
        for specialization in entry["specializations"]:
            specializations.append(
                AgentSpecialization(
                    agent_id=agent_id,
                    specialization=specialization,
                    confidence=Decimal("0.85"),
                    case_count=50,
                    success_rate=Decimal("0.92"),
                )
            )
        metrics = entry["metrics"]
        performances.append(
            AgentPerformance(
                agent_id=agent_id,
                cases_today=8,
                cases_this_week=35,
                cases_this_month=140,
                avg_resolution_minutes=metrics["avg_resolution_time"],
                csat_score=Decimal(metrics["customer_satisfaction"]),
                escalation_rate=Decimal(metrics["escalation_rate"]),
                first_contact_resolution_rate=Decimal("0.85"),
                consecutive_difficult_cases=0,
                stress_score=Decimal("0.2"),
            )
        )
        availabilities.append(
            AgentAvailability(
                agent_id=agent_id,
                status="busy" if entry["max_concurrent"] <= LEGACY_CURRENT_WORKLOAD else "available",
                status_since=now,
                manual_override=False,
                current_load=LEGACY_CURRENT_WORKLOAD,
            )
        )
        for day in WORKING_DAYS:
            schedules.append(
                AgentSchedule(
                    agent_id=agent_id,
                    day_of_week=day,
                    start_time=dt.time(9, 0),
                    end_time=dt.time(17, 0),
                    timezone=SCHEDULE_TIMEZONE,
                    effective_from=MIGRATION_DATE,
                    schedule_type="regular",
                )
            )
    for model, rows in (
        (AgentSkill, skills),
        (AgentLanguage, languages),
        (AgentSpecialization, specializations),
        (AgentPerformance, performances),
        (AgentAvailability, availabilities),
        (AgentSchedule, schedules),
    ):
        model.objects.bulk_create(rows, batch_size=BATCH_SIZE)


def roster_remove(apps, schema_editor) -> None:
    HumanAgent = apps.get_model("agents", "HumanAgent")
    match = Q(pk__in=[])
    for entry in ROSTER:
        match |= Q(code=entry["code"], email=entry["email"], employee_id=_employee_id(entry))
    HumanAgent.objects.filter(match).delete()


class Migration(migrations.Migration):
    dependencies = [("agents", "0002_roles")]

    operations = [
        migrations.RunPython(vocabulary_seed, vocabulary_remove),
        migrations.RunPython(roster_seed, roster_remove),
    ]
