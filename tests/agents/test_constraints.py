"""The database itself refuses bad agent data, whatever door it comes through.

Each bad write goes through QuerySet.update() or bulk_create(), which skip model validation, inside its
own atomic block so the failed statement rolls back to a savepoint. Where the backend names the
constraint in its message (CHECK constraints on SQLite and PostgreSQL), the test checks it is the
intended one that fired.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from agents.models import (
    AgentAvailability,
    AgentLanguage,
    AgentPerformance,
    AgentPeriodMetrics,
    AgentSchedule,
    AgentSkill,
    AgentSpecialization,
    HumanAgent,
    SkillDomain,
)
from tests.factories.agents import (
    AgentLanguageFactory,
    AgentPeriodMetricsFactory,
    AgentScheduleFactory,
    AgentSkillFactory,
    AgentSpecializationFactory,
    HumanAgentFactory,
    SkillDomainFactory,
)

pytestmark = pytest.mark.django_db


def _rejects_update(queryset: Any, constraint: str, **values: Any) -> None:
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        queryset.update(**values)


def _rejects_insert(model: Any, *rows: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.bulk_create(list(rows))


# --- HumanAgent ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"max_concurrent_work": 0}, "agent_capacity_positive"),
        ({"base_hourly_rate": Decimal("-0.01")}, "agent_hourly_rate_not_negative"),
        ({"skill_level": "guru"}, "agent_skill_level_valid"),
        ({"frustration_tolerance": "none"}, "agent_frustration_tolerance_valid"),
    ],
    ids=["capacity-0", "negative-hourly-rate", "bad-skill-level", "bad-frustration-tolerance"],
)
def test_agent_check_constraints_reject_bad_values(values: dict[str, Any], constraint: str) -> None:
    agent = HumanAgentFactory()
    _rejects_update(HumanAgent.objects.filter(pk=agent.pk), constraint, **values)


def test_agent_accepts_the_boundary_values() -> None:
    agent = HumanAgentFactory()
    HumanAgent.objects.filter(pk=agent.pk).update(max_concurrent_work=1, base_hourly_rate=0)


# --- AgentSkill ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"proficiency": "wizard"}, "skill_proficiency_valid"),
        ({"years_experience": Decimal("-0.5")}, "skill_years_not_negative"),
    ],
    ids=["bad-proficiency", "negative-years"],
)
def test_skill_check_constraints_reject_bad_values(values: dict[str, Any], constraint: str) -> None:
    skill = AgentSkillFactory()
    _rejects_update(AgentSkill.objects.filter(pk=skill.pk), constraint, **values)


def test_a_second_skill_in_the_same_domain_is_rejected() -> None:
    skill = AgentSkillFactory()
    _rejects_insert(AgentSkill, AgentSkill(agent=skill.agent, domain=skill.domain, proficiency="basic"))


def test_the_same_domain_for_another_agent_is_allowed() -> None:
    skill = AgentSkillFactory()
    AgentSkill.objects.bulk_create(
        [AgentSkill(agent=HumanAgentFactory(), domain=skill.domain, proficiency="basic")]
    )


# --- AgentSpecialization ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"confidence": Decimal("-0.01")}, "specialization_confidence_range"),
        ({"confidence": Decimal("1.01")}, "specialization_confidence_range"),
        ({"success_rate": Decimal("-0.0001")}, "specialization_success_range"),
        ({"success_rate": Decimal("1.0001")}, "specialization_success_range"),
        ({"proficiency": 6}, "specialization_proficiency_range"),
        ({"proficiency": 0}, "specialization_proficiency_range"),
    ],
    ids=[
        "negative-confidence",
        "confidence-above-1",
        "negative-success",
        "success-above-1",
        "proficiency-6",
        "proficiency-0",
    ],
)
def test_specialization_check_constraints_reject_bad_values(values: dict[str, Any], constraint: str) -> None:
    specialization = AgentSpecializationFactory()
    _rejects_update(AgentSpecialization.objects.filter(pk=specialization.pk), constraint, **values)


def test_a_second_specialization_with_the_same_name_is_rejected() -> None:
    existing = AgentSpecializationFactory(specialization="enterprise_accounts")
    _rejects_insert(
        AgentSpecialization, AgentSpecialization(agent=existing.agent, specialization="enterprise_accounts")
    )


def test_a_second_row_for_the_same_insurance_line_and_segment_is_rejected() -> None:
    existing = AgentSpecializationFactory(insurance_line="auto", customer_segment="smb")
    _rejects_insert(
        AgentSpecialization,
        AgentSpecialization(
            agent=existing.agent, specialization="auto_smb_2", insurance_line="auto", customer_segment="smb"
        ),
    )


def test_rows_without_an_insurance_line_may_share_a_segment() -> None:
    existing = AgentSpecializationFactory(insurance_line=None, customer_segment="smb")
    AgentSpecialization.objects.bulk_create(
        [
            AgentSpecialization(
                agent=existing.agent, specialization="another", insurance_line=None, customer_segment="smb"
            )
        ]
    )
    assert AgentSpecialization.objects.filter(agent=existing.agent, customer_segment="smb").count() == 2


# --- AgentLanguage ---------------------------------------------------------------------------------


def test_a_second_row_for_the_same_language_is_rejected() -> None:
    existing = AgentLanguageFactory(language_code="es", proficiency="fluent")
    _rejects_insert(
        AgentLanguage, AgentLanguage(agent=existing.agent, language_code="es", proficiency="basic")
    )


def test_language_proficiency_must_be_known() -> None:
    language = AgentLanguageFactory()
    _rejects_update(
        AgentLanguage.objects.filter(pk=language.pk), "language_proficiency_valid", proficiency="bilingual"
    )


# --- AgentSchedule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        (
            {"effective_from": dt.date(2026, 2, 1), "effective_until": dt.date(2026, 1, 31)},
            "schedule_effective_range",
        ),
        ({"day_of_week": "funday"}, "schedule_day_valid"),
        ({"schedule_type": "forever"}, "schedule_type_valid"),
    ],
    ids=["until-before-from", "bad-day", "bad-type"],
)
def test_schedule_check_constraints_reject_bad_values(values: dict[str, Any], constraint: str) -> None:
    schedule = AgentScheduleFactory()
    _rejects_update(AgentSchedule.objects.filter(pk=schedule.pk), constraint, **values)


def test_a_schedule_may_end_on_the_day_it_starts() -> None:
    schedule = AgentScheduleFactory(effective_from=dt.date(2026, 1, 1))
    AgentSchedule.objects.filter(pk=schedule.pk).update(effective_until=dt.date(2026, 1, 1))


def test_model_validation_rejects_a_non_iana_timezone() -> None:
    schedule = AgentScheduleFactory.build(agent=HumanAgentFactory(), timezone="PST")
    with pytest.raises(ValidationError) as excinfo:
        schedule.full_clean()
    assert list(excinfo.value.message_dict) == ["timezone"]
    assert "IANA" in excinfo.value.message_dict["timezone"][0]
    assert "PST" in excinfo.value.message_dict["timezone"][0]


def test_model_validation_accepts_an_iana_timezone() -> None:
    AgentScheduleFactory.build(agent=HumanAgentFactory(), timezone="America/Los_Angeles").full_clean()


# --- AgentAvailability -----------------------------------------------------------------------------


def test_a_schedule_may_end_at_or_before_its_start_crossing_midnight() -> None:
    schedule = AgentScheduleFactory()
    AgentSchedule.objects.filter(pk=schedule.pk).update(start_time=dt.time(22), end_time=dt.time(6))
    AgentSchedule.objects.filter(pk=schedule.pk).update(start_time=dt.time(0), end_time=dt.time(0))


def test_a_manual_override_may_have_no_reason() -> None:
    # a status a person set holds whatever the reason field says (issue 6, fault 2)
    agent = HumanAgentFactory()
    AgentAvailability.objects.filter(pk=agent.pk).update(
        status="busy", manual_override=True, override_reason=""
    )


def test_availability_status_must_be_known() -> None:
    agent = HumanAgentFactory()
    _rejects_update(
        AgentAvailability.objects.filter(pk=agent.pk), "availability_status_valid", status="lunch"
    )


def test_availability_load_cannot_go_negative() -> None:
    agent = HumanAgentFactory()
    # Django's own positive-integer CHECK may fire before ours; either way the row is refused.
    with pytest.raises(IntegrityError), transaction.atomic():
        AgentAvailability.objects.filter(pk=agent.pk).update(current_load=-1)


# --- AgentPerformance ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"csat_score": Decimal("0")}, "performance_csat_range"),
        ({"csat_score": Decimal("6")}, "performance_csat_range"),
        ({"escalation_rate": Decimal("-0.0001")}, "performance_escalation_range"),
        ({"escalation_rate": Decimal("1.0001")}, "performance_escalation_range"),
        ({"first_contact_resolution_rate": Decimal("1.5")}, "performance_fcr_range"),
        ({"stress_score": Decimal("1.01")}, "performance_stress_range"),
        ({"stress_score": Decimal("-0.01")}, "performance_stress_range"),
    ],
    ids=[
        "csat-0",
        "csat-6",
        "negative-escalation",
        "escalation-above-1",
        "fcr-above-1",
        "stress-above-1",
        "negative-stress",
    ],
)
def test_performance_check_constraints_reject_bad_values(values: dict[str, Any], constraint: str) -> None:
    agent = HumanAgentFactory()
    _rejects_update(AgentPerformance.objects.filter(pk=agent.pk), constraint, **values)


def test_performance_accepts_the_boundary_values() -> None:
    agent = HumanAgentFactory()
    AgentPerformance.objects.filter(pk=agent.pk).update(
        csat_score=1, escalation_rate=0, first_contact_resolution_rate=1, stress_score=1
    )
    AgentPerformance.objects.filter(pk=agent.pk).update(csat_score=5, stress_score=0)


# --- AgentPeriodMetrics ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        *[
            ({field: Decimal("1.0001")}, f"period_{field}_range")
            for field in (
                "conversion_rate_hot",
                "conversion_rate_warm",
                "conversion_rate_cold",
                "cross_sell_rate",
                "upsell_rate",
            )
        ],
        ({"upsell_rate": Decimal("-0.0001")}, "period_upsell_rate_range"),
        ({"csat_score": Decimal("0")}, "period_csat_range"),
        ({"csat_score": Decimal("6")}, "period_csat_range"),
    ],
    ids=["hot-above-1", "warm-above-1", "cold-above-1", "cross-sell-above-1", "upsell-above-1",
         "negative-upsell", "csat-0", "csat-6"],
)  # fmt: skip
def test_period_metric_check_constraints_reject_bad_values(values: dict[str, Any], constraint: str) -> None:
    metrics = AgentPeriodMetricsFactory()
    _rejects_update(AgentPeriodMetrics.objects.filter(pk=metrics.pk), constraint, **values)


def test_a_second_row_for_the_same_agent_and_period_is_rejected() -> None:
    existing = AgentPeriodMetricsFactory()
    _rejects_insert(
        AgentPeriodMetrics, AgentPeriodMetrics(agent=existing.agent, period_date=existing.period_date)
    )


def test_skill_domain_codes_are_unique() -> None:
    SkillDomainFactory(code="claims")
    _rejects_insert(SkillDomain, SkillDomain(code="claims", name="Claims again"))


# --- added by the audit: capacity bound, ISO language codes, specialization keys and JSON lists --------


def test_agent_capacity_above_the_limit_is_rejected() -> None:
    agent = HumanAgentFactory()
    _rejects_update(
        HumanAgent.objects.filter(pk=agent.pk), "agent_capacity_within_limit", max_concurrent_work=51
    )
    HumanAgent.objects.filter(pk=agent.pk).update(max_concurrent_work=50)  # the limit itself is fine


def test_model_validation_bounds_capacity_and_refuses_codes_unfit_for_urls() -> None:
    agent = HumanAgentFactory.build(code="agent.dot", max_concurrent_work=51)
    with pytest.raises(ValidationError) as raised:
        agent.full_clean()
    assert {"code", "max_concurrent_work"} <= set(raised.value.message_dict)


@pytest.mark.parametrize("code", ["english", "EN", "xx", ""])
def test_language_codes_outside_iso_639_1_are_rejected_by_the_database(code: str) -> None:
    language = AgentLanguageFactory()
    _rejects_update(
        AgentLanguage.objects.filter(pk=language.pk), "language_code_iso_639_1", language_code=code
    )


def test_language_codes_inside_iso_639_1_are_accepted_in_bulk() -> None:
    agent = HumanAgentFactory()
    AgentLanguage.objects.bulk_create(
        [AgentLanguage(agent=agent, language_code=code, proficiency="basic") for code in ("zh", "pt", "yo")]
    )
    assert agent.languages.count() == 3


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"insurance_line": ""}, "specialization_line_not_blank"),
        ({"customer_segment": ""}, "specialization_segment_not_blank"),
        ({"languages": {"en": "native"}}, "specialization_languages_is_array"),
        ({"languages": "en"}, "specialization_languages_is_array"),
        ({"territories": {"US": "CA"}}, "specialization_territories_is_array"),
        ({"territories": 3}, "specialization_territories_is_array"),
    ],
    ids=[
        "blank-line",
        "blank-segment",
        "languages-object",
        "languages-string",
        "territories-object",
        "territories-number",
    ],
)
def test_specialization_blanks_and_non_array_lists_are_rejected(
    values: dict[str, Any], constraint: str
) -> None:
    specialization = AgentSpecializationFactory(insurance_line="auto", customer_segment="smb")
    _rejects_update(AgentSpecialization.objects.filter(pk=specialization.pk), constraint, **values)


def test_a_second_row_for_the_same_line_and_every_segment_is_rejected() -> None:
    # NULL segment means "every segment": one value, not many (COALESCE in the unique index)
    existing = AgentSpecializationFactory(insurance_line="auto", customer_segment=None)
    _rejects_insert(
        AgentSpecialization,
        AgentSpecialization(agent=existing.agent, specialization="auto_2", insurance_line="auto"),
    )


def test_one_line_may_have_a_segment_row_and_an_every_segment_row() -> None:
    existing = AgentSpecializationFactory(insurance_line="auto", customer_segment=None)
    AgentSpecialization.objects.bulk_create(
        [
            AgentSpecialization(
                agent=existing.agent, specialization="auto_smb", insurance_line="auto", customer_segment="smb"
            )
        ]
    )
    assert existing.agent.specializations.count() == 2


def test_specialization_model_validation_normalises_blanks_and_checks_the_lists() -> None:
    agent = HumanAgentFactory()
    row = AgentSpecialization(
        agent=agent,
        specialization="x",
        insurance_line=" ",
        customer_segment="",
        languages=["en"],
        territories=["US-CA"],
    )
    row.full_clean()
    assert (row.insurance_line, row.customer_segment) == (None, None)

    row.languages, row.territories = ["english"], ["", "US-NY"]
    with pytest.raises(ValidationError) as raised:
        row.full_clean()
    assert set(raised.value.message_dict) == {"languages", "territories"}
    assert "english" in " ".join(raised.value.message_dict["languages"])


def test_specialization_model_validation_names_a_duplicate_line_and_segment() -> None:
    existing = AgentSpecializationFactory(insurance_line="auto", customer_segment=None)
    duplicate = AgentSpecialization(agent=existing.agent, specialization="again", insurance_line="auto")
    with pytest.raises(ValidationError, match="already has a specialization for that insurance line"):
        duplicate.full_clean()
