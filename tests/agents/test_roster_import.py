"""The roster CSV (agents.resources): export columns, all-or-nothing import through the admin, live rows."""

from __future__ import annotations

import csv
import io

import pytest
import tablib
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from import_export.formats.base_formats import CSV

from agents.admin import HumanAgentAdmin
from agents.models import AgentAvailability, AgentPerformance, HumanAgent, SkillLevel
from agents.resources import ROSTER_COLUMNS, HumanAgentResource
from tests.factories.agents import HumanAgentFactory

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:agents_humanagent_import")
PROCESS_IMPORT = reverse("admin:agents_humanagent_process_import")
EXPORT = reverse("admin:agents_humanagent_export")
HEADER = ",".join(ROSTER_COLUMNS)


def row(code: str, *, email: str | None = None, skill_level: str = "junior", employee_id: str = "") -> str:
    email = email if email is not None else f"{code}@example.com"
    return f"{code},Agent {code},{email},{employee_id},Support,2024-02-01,{skill_level},21.50,4,medium,1"


def roster(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


@pytest.fixture
def supervisor(client: Client, supervisor_user: User) -> Client:
    client.force_login(supervisor_user)
    return client


def export(client: Client):
    """What the export page posts: CSV, with every roster column ticked."""
    columns = {f"humanagentresource_{column}": "on" for column in ROSTER_COLUMNS}
    return client.post(EXPORT, {"format": csv_format_index(), "resource": "0", **columns})


def csv_format_index() -> str:
    formats = HumanAgentAdmin(HumanAgent, None).get_import_formats()
    return str(next(i for i, fmt in enumerate(formats) if fmt is CSV))


def upload(client: Client, content: str):
    return client.post(
        IMPORT,
        {
            "format": csv_format_index(),
            "import_file": SimpleUploadedFile("roster.csv", content.encode(), content_type="text/csv"),
        },
    )


def test_supervisor_imports_a_roster_and_new_agents_get_live_rows(supervisor: Client, supervisor_user: User):
    # given a file with two new agents, checked on a dry run
    preview = upload(supervisor, roster(row("agent_a1", employee_id="E-1"), row("agent_a2")))
    assert preview.status_code == 200
    assert not preview.context["result"].has_errors()
    assert not HumanAgent.objects.filter(code__in=["agent_a1", "agent_a2"]).exists()

    # when the supervisor confirms
    response = supervisor.post(PROCESS_IMPORT, preview.context["confirm_form"].initial, follow=True)

    # then both exist with their availability and performance rows, and history knows who imported them
    assert response.status_code == 200
    assert "2 new" in response.content.decode()
    agents = HumanAgent.objects.filter(code__in=["agent_a1", "agent_a2"])
    assert agents.count() == 2
    assert AgentAvailability.objects.filter(agent__in=agents).count() == 2
    assert AgentPerformance.objects.filter(agent__in=agents).count() == 2
    second = agents.get(code="agent_a2")
    assert second.employee_id is None  # blank is NULL, not "", so it cannot collide
    assert second.history.get().history_user == supervisor_user


def test_import_updates_existing_agents_by_code(supervisor: Client):
    agent = HumanAgentFactory(code="agent_upd", skill_level=SkillLevel.JUNIOR)
    preview = upload(supervisor, roster(row("agent_upd", email=agent.email, skill_level="senior")))
    assert preview.context["confirm_form"] is not None

    supervisor.post(PROCESS_IMPORT, preview.context["confirm_form"].initial)

    agent.refresh_from_db()
    assert agent.skill_level == SkillLevel.SENIOR
    assert agent.name == "Agent agent_upd"


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (row("agent_bad", skill_level="guru"), "Value &#x27;guru&#x27; is not a valid choice."),
        (row("agent_bad", email="not-an-email"), "Enter a valid email address."),
        (row("agent_bad", email="taken@example.com"), "Human agent with this Email already exists."),
        (row("agent_bad", email="agent_g1@example.com"), "Human agent with this Email already exists."),
    ],
    ids=["bad-skill-level", "bad-email", "email-of-existing-agent", "email-twice-in-file"],
)
def test_a_file_with_one_bad_row_is_reported_and_imports_nothing(
    supervisor: Client, bad_row: str, message: str
):
    HumanAgentFactory(code="agent_taken", email="taken@example.com")
    before = HumanAgent.objects.count()

    response = upload(supervisor, roster(row("agent_g1"), bad_row, row("agent_g2")))

    # the error names the row and the problem, and there is nothing to confirm
    assert response.status_code == 200
    result = response.context["result"]
    assert result.has_validation_errors()
    assert [invalid.number for invalid in result.invalid_rows] == [2]
    assert "confirm_form" not in response.context
    assert message in response.content.decode()
    assert HumanAgent.objects.count() == before


def test_confirmed_import_rolls_back_entirely_when_a_row_turned_invalid(supervisor: Client):
    # given a clean dry run, and then someone takes one of the file's e-mails before the confirm
    preview = upload(supervisor, roster(row("agent_r1"), row("agent_r2"), row("agent_r3")))
    HumanAgentFactory(code="agent_sniper", email="agent_r2@example.com")
    before = HumanAgent.objects.count()

    response = supervisor.post(PROCESS_IMPORT, preview.context["confirm_form"].initial)

    assert response.status_code == 302
    assert HumanAgent.objects.count() == before
    assert not HumanAgent.objects.filter(code__in=["agent_r1", "agent_r3"]).exists()


def test_resource_import_is_all_or_nothing():
    dataset = tablib.Dataset().load(
        roster(row("agent_t1"), row("agent_t2", skill_level="guru")), format="csv"
    )
    before = HumanAgent.objects.count()

    result = HumanAgentResource().import_data(dataset, dry_run=False, raise_errors=False)

    assert result.has_validation_errors()
    assert HumanAgent.objects.count() == before


def test_export_has_the_roster_columns(supervisor: Client):
    HumanAgentFactory(code="agent_exp", email="exp@example.com", skill_level=SkillLevel.EXPERT)

    response = export(supervisor)

    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert tuple(rows[0].keys()) == ROSTER_COLUMNS
    exported = next(r for r in rows if r["code"] == "agent_exp")
    assert exported["email"] == "exp@example.com"
    assert exported["skill_level"] == "expert"


def test_an_exported_roster_imports_back_without_changes(supervisor: Client):
    HumanAgentFactory.create_batch(3)
    exported = export(supervisor).content.decode("utf-8-sig")
    before = HumanAgent.objects.count()

    preview = upload(supervisor, exported)

    assert not preview.context["result"].has_errors()
    assert not preview.context["result"].has_validation_errors()
    assert preview.context["result"].totals["skip"] == before
    assert HumanAgent.objects.count() == before


# --- added by the audit: imports go through the services, and a failed confirm says why ------------------


def test_importing_is_active_0_takes_the_agent_offline_like_the_deactivate_action(supervisor: Client):
    agent = HumanAgentFactory(code="agent_off", email="agent_off@example.com")
    assert AgentAvailability.objects.get(agent=agent).status == "available"
    preview = upload(supervisor, roster(row("agent_off").removesuffix(",1") + ",0"))
    assert not preview.context["result"].has_validation_errors()

    supervisor.post(PROCESS_IMPORT, preview.context["confirm_form"].initial)

    agent.refresh_from_db()
    assert agent.is_active is False
    assert AgentAvailability.objects.get(agent=agent).status == "offline"


def test_confirmed_import_that_rolled_back_lists_the_invalid_rows_instead_of_finished(supervisor: Client):
    # given a clean preview, after which someone takes the e-mail of the file's second row
    preview = upload(supervisor, roster(row("agent_f1"), row("agent_f2"), row("agent_f3")))
    HumanAgentFactory(code="agent_sniper", email="agent_f2@example.com")

    response = supervisor.post(PROCESS_IMPORT, preview.context["confirm_form"].initial, follow=True)

    content = response.content.decode()
    assert "Import finished" not in content
    assert "Import failed and nothing was imported" in content
    assert "row 2: email: Human agent with this Email already exists." in content
    assert response.redirect_chain[-1][0] == IMPORT
    assert not HumanAgent.objects.filter(code__in=["agent_f1", "agent_f3"]).exists()


def test_an_imported_agent_code_must_be_url_safe(supervisor: Client):
    response = upload(supervisor, roster(row("agent.dot")))

    assert [invalid.number for invalid in response.context["result"].invalid_rows] == [1]
    assert "letters, numbers, underscores or hyphens" in response.content.decode()
