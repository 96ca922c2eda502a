from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from agents.models import (
    AgentAvailability,
    AgentLanguage,
    AgentPerformance,
    AgentSchedule,
    AgentSkill,
    AvailabilityStatus,
    HumanAgent,
)
from tests.factories import (
    AgentLanguageFactory,
    AgentScheduleFactory,
    AgentSkillFactory,
    AgentSpecializationFactory,
    HumanAgentFactory,
    SkillDomainFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _without_seeded_roster(db) -> None:
    """Migration 0003 seeds the legacy roster; these tests count and order agents they create."""
    HumanAgent.objects.all().delete()


LIST_URL = "/api/v1/agents/"


def detail_url(code: str) -> str:
    return f"/api/v1/agents/{code}/"


def availability_url(code: str) -> str:
    return f"/api/v1/agents/{code}/availability/"


def new_agent_payload(**overrides) -> dict:
    payload = {
        "code": "agent_new",
        "name": "Nadia New",
        "email": "nadia@example.com",
        "employee_id": "E-NEW",
        "department": "Billing",
        "skill_level": "senior",
        "max_concurrent_work": 4,
        "skills": [{"domain": "billing", "proficiency": "expert", "years_experience": "4.5"}],
        "languages": [{"language_code": "en", "proficiency": "native"}],
        "specializations": [{"specialization": "enterprise_accounts", "confidence": "0.80"}],
        "schedules": [
            {
                "day_of_week": "monday",
                "start_time": "09:00",
                "end_time": "17:00",
                "timezone": "America/Los_Angeles",
                "effective_from": "2026-01-01",
            }
        ],
    }
    payload.update(overrides)
    return payload


def _client_with_perms(username: str, *codenames: str) -> APIClient:
    user = User.objects.create_user(username, f"{username}@example.com", "correct-horse-battery")
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="agents", codename__in=codenames)
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


# --- authentication and permissions ------------------------------------------------------------------


def test_anonymous_request_is_401_with_www_authenticate(api_client):
    response = api_client.get(LIST_URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert set(response.json()) == {"detail", "code", "fields"}


def test_anonymous_availability_request_is_401(api_client):
    agent = HumanAgentFactory()

    assert api_client.patch(availability_url(agent.code), {"status": "busy"}).status_code == 401


def test_analyst_can_read_agents(analyst_client):
    agent = HumanAgentFactory()

    assert analyst_client.get(LIST_URL).status_code == 200
    assert analyst_client.get(detail_url(agent.code)).status_code == 200
    assert analyst_client.get(availability_url(agent.code)).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "list", new_agent_payload()),
        ("put", "detail", new_agent_payload()),
        ("patch", "detail", {"name": "X"}),
        ("delete", "detail", None),
        ("put", "availability", {"status": "busy"}),
        ("patch", "availability", {"status": "busy"}),
    ],
)
def test_analyst_cannot_write(analyst_client, method, path, body):
    agent = HumanAgentFactory(name="Unchanged")
    url = {"list": LIST_URL, "detail": detail_url(agent.code), "availability": availability_url(agent.code)}[
        path
    ]

    response = getattr(analyst_client, method)(url, body)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    agent.refresh_from_db()
    assert agent.name == "Unchanged"
    assert agent.availability.status == AvailabilityStatus.AVAILABLE


def test_user_without_view_permission_cannot_read():
    client = _client_with_perms("nobody")

    assert client.get(LIST_URL).status_code == 403


def test_availability_permissions_are_checked_on_the_availability_model():
    # given: a user who may edit agents but not their availability, and one who may only set availability
    agent = HumanAgentFactory()
    agent_editor = _client_with_perms("editor", "view_humanagent", "change_humanagent")
    dispatcher = _client_with_perms("dispatcher", "view_agentavailability", "change_agentavailability")

    # then
    assert agent_editor.get(availability_url(agent.code)).status_code == 403
    assert agent_editor.patch(availability_url(agent.code), {"status": "busy"}).status_code == 403
    assert dispatcher.get(availability_url(agent.code)).status_code == 200
    assert dispatcher.patch(availability_url(agent.code), {"status": "busy"}).status_code == 200
    assert dispatcher.get(detail_url(agent.code)).status_code == 403


def test_supervisors_group_has_the_availability_permissions():
    perms = set(Group.objects.get(name="Supervisors").permissions.values_list("codename", flat=True))

    assert {"view_agentavailability", "change_agentavailability", "delete_humanagent"} <= perms


# --- read ----------------------------------------------------------------------------------------------


def test_detail_shows_nested_sets_availability_and_performance(supervisor_client):
    agent = HumanAgentFactory(code="agent_007")
    AgentSkillFactory(agent=agent, domain=SkillDomainFactory(code="billing"), proficiency="expert")
    AgentLanguageFactory(agent=agent, language_code="es", proficiency="fluent")
    AgentSpecializationFactory(agent=agent, specialization="enterprise_accounts")
    AgentScheduleFactory(agent=agent)

    body = supervisor_client.get(detail_url("agent_007")).json()

    assert body["code"] == "agent_007"
    assert body["skills"][0]["domain"] == "billing"
    assert body["languages"] == [{"language_code": "es", "proficiency": "fluent"}]
    assert body["specializations"][0]["specialization"] == "enterprise_accounts"
    assert body["schedules"][0]["timezone"] == "America/Los_Angeles"
    assert body["availability"]["status"] == "available"
    assert body["availability"]["capacity"] == 5
    assert set(body["performance"]) >= {"csat_score", "escalation_rate", "current_workload"}


def test_unknown_code_is_404_in_the_standard_shape(supervisor_client):
    response = supervisor_client.get(detail_url("agent_nope"))

    assert response.status_code == 404
    assert response.json() == {"detail": "No agent with code agent_nope.", "code": "not_found", "fields": {}}


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_writes_to_unknown_code_are_404(supervisor_client, method):
    response = getattr(supervisor_client, method)(detail_url("agent_nope"), new_agent_payload())

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_unknown_code_availability_is_404(supervisor_client):
    assert supervisor_client.get(availability_url("agent_nope")).status_code == 404
    assert supervisor_client.patch(availability_url("agent_nope"), {"status": "busy"}).status_code == 404


# --- filters, search, ordering, pagination -------------------------------------------------------------


def _codes(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["code"] for row in response.json()["results"]]


def test_list_filters_by_skill_language_status_active_and_department(supervisor_client):
    billing = SkillDomainFactory(code="billing")
    match = HumanAgentFactory(code="a_match", department="Billing")
    AgentSkillFactory(agent=match, domain=billing)
    AgentLanguageFactory(agent=match, language_code="es")
    wrong_language = HumanAgentFactory(code="b_wrong_language", department="Billing")
    AgentSkillFactory(agent=wrong_language, domain=billing)
    AgentLanguageFactory(agent=wrong_language, language_code="fr")
    busy = HumanAgentFactory(code="c_busy", department="Billing", availability__status="busy")
    AgentSkillFactory(agent=busy, domain=billing)
    AgentLanguageFactory(agent=busy, language_code="es")
    inactive = HumanAgentFactory(code="d_inactive", is_active=False, department="Sales")

    assert _codes(
        supervisor_client.get(LIST_URL, {"skill": "billing", "language": "es", "status": "available"})
    ) == ["a_match"]
    assert _codes(supervisor_client.get(LIST_URL, {"status": "busy"})) == ["c_busy"]
    assert _codes(supervisor_client.get(LIST_URL, {"active": "false"})) == [inactive.code]
    assert _codes(supervisor_client.get(LIST_URL, {"department": "sales"})) == ["d_inactive"]
    assert supervisor_client.get(LIST_URL, {"skill": "unknown"}).status_code == 400  # named, not ignored


def test_list_rejects_an_invalid_filter_value_naming_it(supervisor_client):
    response = supervisor_client.get(LIST_URL, {"language": "english", "status": "asleep"})

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"language", "status"}


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"skill": "%s%d 50%"}, "skill", "Unknown skill domain %s%d 50%."),
        ({"active": "%(x)s"}, "active", "'%(x)s' is not a boolean: use true or false."),
    ],
)
def test_a_percent_sign_in_a_filter_value_is_echoed_not_formatted(supervisor_client, params, field, message):
    """django-filter %-formats each error message with its params: a value quoted into the message
    itself made `%s` a 500 (found by the fuzzer)."""
    response = supervisor_client.get(LIST_URL, params)

    assert response.status_code == 400
    assert response.json()["fields"] == {field: [message]}


def test_list_searches_name_email_code_and_employee_id(supervisor_client):
    HumanAgentFactory(code="agent_a", name="Grace Hopper", email="grace@example.com", employee_id="E-77")
    HumanAgentFactory(code="agent_b", name="Alan Turing", email="alan@example.com", employee_id="E-88")

    assert _codes(supervisor_client.get(LIST_URL, {"search": "hopper"})) == ["agent_a"]
    assert _codes(supervisor_client.get(LIST_URL, {"search": "alan@"})) == ["agent_b"]
    assert _codes(supervisor_client.get(LIST_URL, {"search": "agent_b"})) == ["agent_b"]
    assert _codes(supervisor_client.get(LIST_URL, {"search": "E-77"})) == ["agent_a"]


def test_list_orders_and_paginates(supervisor_client):
    HumanAgentFactory(code="agent_a", name="Zed")
    HumanAgentFactory(code="agent_b", name="Amy")
    HumanAgentFactory(code="agent_c", name="Moe")

    assert _codes(supervisor_client.get(LIST_URL)) == ["agent_a", "agent_b", "agent_c"]
    assert _codes(supervisor_client.get(LIST_URL, {"ordering": "name"})) == ["agent_b", "agent_c", "agent_a"]
    page = supervisor_client.get(LIST_URL, {"page_size": 2, "page": 2}).json()
    assert page["count"] == 3
    assert [row["code"] for row in page["results"]] == ["agent_c"]
    assert page["next"] is None and page["previous"] is not None
    first = supervisor_client.get(LIST_URL, {"page_size": 2}).json()
    assert (first["count"], first["next"] is not None, first["previous"]) == (3, True, None)


def test_list_count_comes_with_the_page_and_an_empty_page_still_counts(supervisor_client):
    HumanAgentFactory(code="agent_a")

    past = supervisor_client.get(LIST_URL, {"page": 2})
    far = supervisor_client.get(LIST_URL, {"page": 10**19, "page_size": 200})  # an offset past bigint
    nothing = supervisor_client.get(LIST_URL, {"department": "nobody"}).json()

    assert (past.status_code, past.json()["code"]) == (404, "page_not_found")
    assert (far.status_code, far.json()["code"]) == (404, "page_not_found")
    assert "past the last page (1)" in past.json()["fields"]["page"][0]
    assert (nothing["count"], nothing["results"]) == (0, [])


# --- create ----------------------------------------------------------------------------------------------


def test_create_agent_with_nested_sets_and_live_rows(supervisor_client):
    SkillDomainFactory(code="billing")

    response = supervisor_client.post(LIST_URL, new_agent_payload())

    assert response.status_code == 201, response.json()
    agent = HumanAgent.objects.get(code="agent_new")
    assert agent.skills.get().domain.code == "billing"
    assert agent.skills.get().years_experience == Decimal("4.5")
    assert list(agent.languages.values_list("language_code", flat=True)) == ["en"]
    assert agent.specializations.get().specialization == "enterprise_accounts"
    assert agent.schedules.get().start_time == dt.time(9, 0)
    assert agent.availability.status == AvailabilityStatus.OFFLINE
    assert AgentPerformance.objects.filter(agent=agent).exists()
    assert response.json()["availability"]["status"] == "offline"
    assert agent.history.count() == 1


def test_create_with_bad_fields_names_each_of_them(supervisor_client):
    HumanAgentFactory(email="taken@example.com")

    response = supervisor_client.post(
        LIST_URL, new_agent_payload(email="taken@example.com", skill_level="guru", max_concurrent_work=0)
    )

    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Invalid input."
    assert set(body["fields"]) >= {"email", "skill_level", "max_concurrent_work"}


def test_create_with_unknown_skill_domain_is_400_naming_the_field(supervisor_client):
    response = supervisor_client.post(
        LIST_URL, new_agent_payload(skills=[{"domain": "astrology", "proficiency": "basic"}])
    )

    assert response.status_code == 400
    # DRF keys a nested list's errors by the index of the invalid row
    assert response.json()["fields"] == {"skills": {"0": {"domain": ["Unknown skill domain astrology."]}}}
    assert not HumanAgent.objects.filter(code="agent_new").exists()


def test_create_with_abbreviated_timezone_says_to_use_an_iana_name(supervisor_client):
    SkillDomainFactory(code="billing")
    schedule = {**new_agent_payload()["schedules"][0], "timezone": "PST"}

    response = supervisor_client.post(LIST_URL, new_agent_payload(schedules=[schedule]))

    assert response.status_code == 400
    [message] = response.json()["fields"]["schedules"]["0"]["timezone"]
    assert "America/Los_Angeles" in message
    assert "PST" in message


def test_create_with_non_iso_language_code_is_400(supervisor_client):
    SkillDomainFactory(code="billing")

    response = supervisor_client.post(
        LIST_URL, new_agent_payload(languages=[{"language_code": "english", "proficiency": "native"}])
    )

    assert response.status_code == 400
    assert "language_code" in response.json()["fields"]["languages"]["0"]


def test_create_with_a_schedule_ending_before_it_starts_is_a_night_shift(supervisor_client):
    SkillDomainFactory(code="billing")
    schedule = {**new_agent_payload()["schedules"][0], "start_time": "22:00", "end_time": "06:00"}

    response = supervisor_client.post(LIST_URL, new_agent_payload(schedules=[schedule]))

    assert response.status_code == 201, response.json()
    assert response.json()["schedules"][0]["end_time"] == "06:00:00"


def test_the_capacity_under_its_old_name_is_refused_naming_the_new_one(supervisor_client):
    agent = HumanAgentFactory()
    response = supervisor_client.patch(detail_url(agent.code), {"max_concurrent_cases": 4}, format="json")
    assert response.status_code == 400
    assert "max_concurrent_work" in response.json()["fields"]["max_concurrent_cases"][0]


def test_create_with_duplicate_skill_domain_is_400(supervisor_client):
    SkillDomainFactory(code="billing")
    skill = {"domain": "billing", "proficiency": "basic"}

    response = supervisor_client.post(LIST_URL, new_agent_payload(skills=[skill, skill]))

    assert response.status_code == 400
    assert response.json()["fields"]["skills"] == ["Skill domain billing is listed more than once."]


@pytest.mark.parametrize(
    ("field", "value"), [("success_rate", "1.5"), ("confidence", "-0.1"), ("proficiency", 6)]
)
def test_specialization_values_out_of_range_are_400(supervisor_client, field, value):
    agent = HumanAgentFactory()

    response = supervisor_client.patch(
        detail_url(agent.code), {"specializations": [{"specialization": "x", field: value}]}
    )

    assert response.status_code == 400
    assert field in response.json()["fields"]["specializations"]["0"]


def test_performance_is_not_writable_through_the_api(supervisor_client):
    agent = HumanAgentFactory(
        performance__csat_score=Decimal("4.20"), performance__escalation_rate=Decimal("0.1")
    )

    response = supervisor_client.patch(
        detail_url(agent.code), {"performance": {"csat_score": 7, "escalation_rate": 3}}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "performance": ["Read-only: set by the service, not by the request."]
    }
    performance = AgentPerformance.objects.get(agent=agent)
    assert performance.csat_score == Decimal("4.20")
    assert performance.escalation_rate == Decimal("0.1")


def test_an_unknown_key_is_a_400_naming_it_and_the_writable_keys(supervisor_client):
    agent = HumanAgentFactory(name="Before")

    response = supervisor_client.patch(detail_url(agent.code), {"name": "After", "nmae": "x"}, format="json")

    assert response.status_code == 400
    (message,) = response.json()["fields"]["nmae"]
    assert message.startswith("Unknown field; expected one of: ") and "name" in message
    assert HumanAgent.objects.get(pk=agent.pk).name == "Before"


# --- update and nested writes ----------------------------------------------------------------------------


@pytest.fixture
def staffed_agent() -> HumanAgent:
    agent = HumanAgentFactory(code="agent_x", name="Before")
    AgentSkillFactory(agent=agent, domain=SkillDomainFactory(code="billing"), proficiency="basic")
    AgentSkillFactory(agent=agent, domain=SkillDomainFactory(code="claims"), proficiency="expert")
    SkillDomainFactory(code="sales")
    AgentLanguageFactory(agent=agent, language_code="en", proficiency="native")
    AgentLanguageFactory(agent=agent, language_code="es", proficiency="basic")
    AgentSpecializationFactory(agent=agent, specialization="enterprise_accounts")
    AgentScheduleFactory(agent=agent, day_of_week="monday")
    AgentScheduleFactory(agent=agent, day_of_week="tuesday")
    return agent


def test_patch_with_a_nested_list_replaces_that_set_by_natural_key(supervisor_client, staffed_agent):
    billing_skill_pk = staffed_agent.skills.get(domain__code="billing").pk

    response = supervisor_client.patch(
        detail_url("agent_x"),
        {
            "skills": [
                {"domain": "billing", "proficiency": "advanced"},
                {"domain": "sales", "proficiency": "basic"},
            ]
        },
    )

    assert response.status_code == 200, response.json()
    skills = {skill.domain.code: skill for skill in AgentSkill.objects.filter(agent=staffed_agent)}
    assert set(skills) == {"billing", "sales"}
    assert skills["billing"].pk == billing_skill_pk  # updated in place, not recreated
    assert skills["billing"].proficiency == "advanced"
    assert [row["domain"] for row in response.json()["skills"]] == ["billing", "sales"]


def test_patch_leaves_omitted_nested_sets_alone(supervisor_client, staffed_agent):
    response = supervisor_client.patch(detail_url("agent_x"), {"name": "After"})

    assert response.status_code == 200
    staffed_agent.refresh_from_db()
    assert staffed_agent.name == "After"
    assert staffed_agent.skills.count() == 2
    assert staffed_agent.languages.count() == 2
    assert staffed_agent.specializations.count() == 1
    assert staffed_agent.schedules.count() == 2


def test_patch_with_an_empty_list_clears_the_set(supervisor_client, staffed_agent):
    response = supervisor_client.patch(detail_url("agent_x"), {"languages": []})

    assert response.status_code == 200
    assert not AgentLanguage.objects.filter(agent=staffed_agent).exists()
    assert staffed_agent.skills.count() == 2


def test_schedules_are_kept_when_repeated_and_replaced_otherwise(supervisor_client, staffed_agent):
    monday = staffed_agent.schedules.get(day_of_week="monday")
    unchanged = {
        "day_of_week": "monday",
        "start_time": "09:00:00",
        "end_time": "17:00:00",
        "timezone": "America/Los_Angeles",
        "effective_from": "2026-01-01",
    }
    new = {**unchanged, "day_of_week": "friday", "timezone": "Europe/Madrid"}

    response = supervisor_client.patch(detail_url("agent_x"), {"schedules": [unchanged, new]})

    assert response.status_code == 200, response.json()
    schedules = {row.day_of_week: row for row in AgentSchedule.objects.filter(agent=staffed_agent)}
    assert set(schedules) == {"monday", "friday"}
    assert schedules["monday"].pk == monday.pk
    assert schedules["friday"].timezone == "Europe/Madrid"


def test_put_replaces_fields_and_given_sets(supervisor_client, staffed_agent):
    payload = new_agent_payload(
        code="agent_x",
        name="Put Name",
        email="put@example.com",
        skills=[{"domain": "claims", "proficiency": "basic"}],
        languages=[{"language_code": "fr", "proficiency": "fluent"}],
    )
    del payload["specializations"], payload["schedules"]

    response = supervisor_client.put(detail_url("agent_x"), payload)

    assert response.status_code == 200, response.json()
    staffed_agent.refresh_from_db()
    assert (staffed_agent.name, staffed_agent.email, staffed_agent.department) == (
        "Put Name",
        "put@example.com",
        "Billing",
    )
    assert list(staffed_agent.skills.values_list("domain__code", "proficiency")) == [("claims", "basic")]
    assert list(staffed_agent.languages.values_list("language_code", flat=True)) == ["fr"]
    assert staffed_agent.specializations.count() == 1  # omitted: left alone
    assert staffed_agent.schedules.count() == 2


def test_put_requires_the_agent_fields(supervisor_client, staffed_agent):
    response = supervisor_client.put(detail_url("agent_x"), {"name": "Only a name"})

    assert response.status_code == 400
    assert set(response.json()["fields"]) >= {"code", "email", "skill_level"}


def test_patch_with_one_invalid_nested_row_changes_nothing(supervisor_client, staffed_agent):
    before_skills = list(AgentSkill.objects.filter(agent=staffed_agent).values_list("pk", "proficiency"))

    response = supervisor_client.patch(
        detail_url("agent_x"),
        {
            "name": "Should not stick",
            "skills": [{"domain": "billing", "proficiency": "expert"}],
            "languages": [{"language_code": "de", "proficiency": "native"}],
            "schedules": [
                {
                    "day_of_week": "monday",
                    "start_time": "09:00",
                    "end_time": "17:00",
                    "timezone": "PST",
                    "effective_from": "2026-01-01",
                }
            ],
        },
    )

    assert response.status_code == 400
    assert "timezone" in response.json()["fields"]["schedules"]["0"]
    staffed_agent.refresh_from_db()
    assert staffed_agent.name == "Before"
    assert (
        list(AgentSkill.objects.filter(agent=staffed_agent).values_list("pk", "proficiency")) == before_skills
    )
    assert set(staffed_agent.languages.values_list("language_code", flat=True)) == {"en", "es"}
    assert staffed_agent.schedules.count() == 2


def test_patch_is_validated_against_other_agents_unique_fields(supervisor_client, staffed_agent):
    HumanAgentFactory(email="other@example.com")

    response = supervisor_client.patch(detail_url("agent_x"), {"email": "other@example.com"})

    assert response.status_code == 409  # a taken value is a conflict, as a duplicate case id is
    assert "email" in response.json()["fields"]


def test_patch_deactivating_takes_the_agent_offline(supervisor_client, staffed_agent):
    response = supervisor_client.patch(detail_url("agent_x"), {"is_active": False})

    assert response.status_code == 200
    assert response.json()["availability"]["status"] == "offline"


def test_delete_deactivates_and_keeps_the_agent(supervisor_client, staffed_agent):
    response = supervisor_client.delete(detail_url("agent_x"))

    assert response.status_code == 204
    staffed_agent.refresh_from_db()
    assert staffed_agent.is_active is False
    assert staffed_agent.availability.status == AvailabilityStatus.OFFLINE
    assert staffed_agent.skills.count() == 2


# --- availability -----------------------------------------------------------------------------------------


def test_get_availability(supervisor_client):
    agent = HumanAgentFactory(max_concurrent_work=7, availability__current_load=2)

    body = supervisor_client.get(availability_url(agent.code)).json()

    assert body["status"] == "available"
    assert body["current_load"] == 2
    assert body["capacity"] == 7


def test_put_availability_sets_status_and_resets_omitted_fields(supervisor_client):
    agent = HumanAgentFactory(
        availability__status="break",
        availability__manual_override=True,
        availability__override_reason="Lunch",
    )

    response = supervisor_client.put(availability_url(agent.code), {"status": "available"})

    assert response.status_code == 200, response.json()
    availability = AgentAvailability.objects.get(agent=agent)
    assert (availability.status, availability.manual_override, availability.override_reason) == (
        "available",
        False,
        "",
    )


def test_patch_availability_with_reason_is_a_manual_override(supervisor_client):
    agent = HumanAgentFactory()
    back_at = "2026-03-01T10:00:00Z"

    response = supervisor_client.patch(
        availability_url(agent.code),
        {"status": "meeting", "override_reason": "1:1", "expected_available_at": back_at},
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "meeting"
    assert body["manual_override"] is True
    assert body["expected_available_at"] == back_at


def test_patch_availability_keeps_omitted_fields(supervisor_client):
    agent = HumanAgentFactory()
    supervisor_client.patch(availability_url(agent.code), {"status": "meeting", "override_reason": "1:1"})

    response = supervisor_client.patch(availability_url(agent.code), {"status": "busy"})

    assert response.json()["override_reason"] == "1:1"
    assert response.json()["manual_override"] is True


def test_availability_load_and_capacity_are_read_only(supervisor_client):
    agent = HumanAgentFactory(availability__current_load=1)

    response = supervisor_client.patch(availability_url(agent.code), {"current_load": 4, "capacity": 9})

    assert response.status_code == 400
    read_only = ["Read-only: set by the service, not by the request."]
    assert response.json()["fields"] == {"current_load": read_only, "capacity": read_only}
    assert AgentAvailability.objects.get(agent=agent).current_load == 1
    assert HumanAgent.objects.get(pk=agent.pk).max_concurrent_work == 5


def test_a_busy_set_through_the_api_without_a_reason_is_a_manual_override(supervisor_client):
    agent = HumanAgentFactory()

    response = supervisor_client.patch(availability_url(agent.code), {"status": "busy"})

    assert response.status_code == 200, response.json()
    assert response.json()["manual_override"] is True and response.json()["override_reason"] == ""
    assert AgentAvailability.objects.get(agent=agent).takes_work is False


def test_manual_override_is_read_only_in_the_api(supervisor_client):
    agent = HumanAgentFactory()
    response = supervisor_client.put(
        availability_url(agent.code), {"status": "available", "manual_override": True}
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "manual_override": ["Read-only: set by the service, not by the request."]
    }


def test_invalid_availability_status_is_400_naming_the_field(supervisor_client):
    agent = HumanAgentFactory()

    response = supervisor_client.put(availability_url(agent.code), {"status": "asleep"})

    assert response.status_code == 400
    assert "status" in response.json()["fields"]


# --- query counts ------------------------------------------------------------------------------------------


def _staff(count: int) -> None:
    domains = [SkillDomainFactory(code=f"domain_{index}") for index in range(3)]
    for agent in HumanAgentFactory.create_batch(count):
        for domain in domains[:2]:
            AgentSkillFactory(agent=agent, domain=domain)
        AgentLanguageFactory(agent=agent)
        AgentSpecializationFactory(agent=agent)
        AgentScheduleFactory(agent=agent)


# token (1) + user and group permissions (2) + the page with its count (COUNT(*) OVER ()), then on
# PostgreSQL the page's agents with their sets in one statement (agents.selectors.agent_page), elsewhere
# the agents joined to availability/performance + skills with domain + languages + specializations +
# schedules
LIST_QUERIES = 3 + 1 + 1 if connection.vendor == "postgresql" else 3 + 1 + 4


@pytest.mark.parametrize("count", [3, 30])
def test_list_query_count_does_not_grow_with_rows(supervisor_client, django_assert_num_queries, count):
    _staff(count)

    with django_assert_num_queries(LIST_QUERIES):
        response = supervisor_client.get(LIST_URL)

    assert len(response.json()["results"]) == count


def test_filtered_list_query_count(supervisor_client, django_assert_num_queries):
    _staff(10)

    with django_assert_num_queries(LIST_QUERIES + 1):  # + the skill code's existence (unknown: 400)
        response = supervisor_client.get(
            LIST_URL, {"skill": "domain_0", "language": "en", "status": "available"}
        )

    assert response.json()["count"] == 10


def test_detail_query_count(supervisor_client, django_assert_num_queries):
    _staff(1)
    code = HumanAgent.objects.get().code

    # no count; PostgreSQL reads the agent and its sets in one statement (AgentDetailStatement)
    with django_assert_num_queries(3 + 1 if connection.vendor == "postgresql" else 3 + 5):
        supervisor_client.get(detail_url(code))


def test_availability_get_is_one_query_after_auth(supervisor_client, django_assert_num_queries):
    agent = HumanAgentFactory()

    with django_assert_num_queries(3 + 1):
        supervisor_client.get(availability_url(agent.code))


# the locked lookup, then the update and its history record (one statement on PostgreSQL)
WRITE_QUERIES = 2 if connection.vendor == "postgresql" else 3


def test_availability_patch_is_lock_update_and_history_after_auth(
    supervisor_client, django_assert_num_queries
):
    agent = HumanAgentFactory()

    # auth (3) + locked lookup by code + update + history row (on PostgreSQL one statement:
    # config.history.update_with_history); the test's own transaction turns the service's BEGIN/COMMIT
    # (not counted) into a SAVEPOINT/RELEASE pair (counted)
    with django_assert_num_queries(3 + WRITE_QUERIES + 2):
        response = supervisor_client.patch(availability_url(agent.code), {"status": "busy"})

    assert response.status_code == 200


def test_availability_patch_to_available_with_nothing_waiting_probes_the_queues_once(
    supervisor_client, django_assert_num_queries
):
    agent = HumanAgentFactory(availability__status=AvailabilityStatus.OFFLINE)

    # as above, plus one probe of both queues (routing.selectors.leads.waiting_work): nothing waits, so
    # no savepoint, lock, agent facts or queue walk follow it
    with django_assert_num_queries(3 + WRITE_QUERIES + 1 + 2):
        response = supervisor_client.patch(availability_url(agent.code), {"status": "available"})

    assert response.status_code == 200
    assert response.json()["status"] == "available"


# --- OpenAPI ----------------------------------------------------------------------------------------------


def test_schema_describes_every_agents_endpoint(supervisor_client):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]

    assert set(paths["/api/v1/agents/"]) >= {"get", "post"}
    assert set(paths["/api/v1/agents/{code}/"]) >= {"get", "put", "patch", "delete"}
    assert set(paths["/api/v1/agents/{code}/availability/"]) >= {"get", "put", "patch"}
    list_params = {param["name"] for param in paths["/api/v1/agents/"]["get"]["parameters"]}
    assert list_params >= {
        "skill",
        "language",
        "status",
        "active",
        "department",
        "search",
        "ordering",
        "page",
    }
    agent_props = schema["components"]["schemas"]["Agent"]["properties"]
    assert agent_props["availability"]["readOnly"] is True
    assert agent_props["performance"]["readOnly"] is True
    request_props = schema["components"]["schemas"]["AgentRequest"]["properties"]
    assert "performance" not in request_props
    assert "skills" in request_props
