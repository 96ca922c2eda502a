"""The live load is counted from open work; the seed's workload figure becomes history.

Seed 000's roster came with `current_workload = 2` for its three agents, a figure of the legacy system at
migration time with no open assignment behind it, so a fresh database failed its own integrity check
(availability_load_mismatch). The live load (AgentAvailability.current_load) is the agent's open work;
the legacy figure is kept on the performance snapshot as `legacy_workload`.

Forward: for every agent whose load differs from its open assignments, keep the stored load as
legacy_workload (unless one is recorded already) and set the load to the open assignments. Reverse puts
the legacy figure back as the load, exactly as it was. Set-based; a few rows on real data.
"""

from django.db import migrations
from django.db.models import Count, F, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

OPEN = ["assigned", "in_progress"]


def _open_assignments(apps):
    CaseAssignment = apps.get_model("routing", "CaseAssignment")
    counts = (
        CaseAssignment.objects.filter(agent_id=OuterRef("agent_id"), status__in=OPEN)
        .order_by()
        .values("agent_id")
        .annotate(open=Count("pk"))
        .values("open")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


def load_from_open_work(apps, schema_editor):
    AgentAvailability = apps.get_model("agents", "AgentAvailability")
    AgentPerformance = apps.get_model("agents", "AgentPerformance")
    drifted = list(
        AgentAvailability.objects.annotate(open=_open_assignments(apps))
        .exclude(current_load=F("open"))
        .values_list("agent_id", "current_load")
    )
    for agent_id, load in drifted:
        AgentPerformance.objects.filter(agent_id=agent_id, legacy_workload__isnull=True).update(legacy_workload=load)
    ids = [agent_id for agent_id, _ in drifted]
    AgentAvailability.objects.filter(agent_id__in=ids).update(current_load=_open_assignments(apps))


def load_back_from_legacy(apps, schema_editor):
    AgentAvailability = apps.get_model("agents", "AgentAvailability")
    AgentPerformance = apps.get_model("agents", "AgentPerformance")
    for agent_id, legacy in AgentPerformance.objects.filter(legacy_workload__isnull=False).values_list(
        "agent_id", "legacy_workload"
    ):
        AgentAvailability.objects.filter(agent_id=agent_id).update(current_load=legacy)
    AgentPerformance.objects.filter(legacy_workload__isnull=False).update(legacy_workload=None)


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0008_audit_trail_of_any_work_and_checks"),
        ("agents", "0008_agent_rules_follow_the_seeds"),
    ]

    operations = [migrations.RunPython(load_from_open_work, load_back_from_legacy)]
