"""Seed 001's post-migration steps (data only; idempotent; reversed exactly).

1-2. Agents that lack them get an availability row (offline, load 0: nobody is handed work by a
     migration) and a performance snapshot. Specializations are not invented: which insurance lines an
     agent is licensed for is a fact a supervisor enters; agents without one take no leads.
3.   The default rule set below, each rule created only if no rule of its name exists (a supervisor's
     edit of a default rule is kept on a second run); the reverse removes the rules of these names that
     still hold exactly the defaults.
4.   No default experiment is started (the seed's "if needed": it is not).
"""

from django.db import migrations
from django.utils import timezone

DEFAULT_RULES = [
    {
        "name": "Hot leads to the hot queue",
        "description": "A hot lead waits in the hot queue (5-minute speed-to-lead SLA).",
        "rule_type": "assign_to_queue",
        "condition": {"field": "tier", "op": "eq", "value": "hot"},
        "action": {"queue_type": "hot"},
        "priority": 100,
    },
    {
        "name": "Callback requests are hot",
        "description": "A lead that asked for a callback waits in the hot queue, whatever its score.",
        "rule_type": "assign_to_queue",
        "condition": {"field": "callback_requested", "op": "eq", "value": True},
        "action": {"queue_type": "hot", "sla_minutes": 5},
        "priority": 90,
    },
    {
        "name": "Warm leads to the active queue",
        "description": "",
        "rule_type": "assign_to_queue",
        "condition": {"field": "tier", "op": "eq", "value": "warm"},
        "action": {"queue_type": "active"},
        "priority": 80,
    },
    {
        "name": "Cold leads to nurture",
        "description": "",
        "rule_type": "assign_to_queue",
        "condition": {"field": "tier", "op": "eq", "value": "cold"},
        "action": {"queue_type": "nurture"},
        "priority": 70,
    },
    {
        "name": "Enterprise leads need proficiency 4",
        "description": "Enterprise customers go to agents with proficiency 4 or more in the lead's line.",
        "rule_type": "require_specialization",
        "condition": {"field": "customer_segment", "op": "eq", "value": "enterprise"},
        "action": {"min_proficiency": 4},
        "priority": 60,
    },
    {
        "name": "Purchased lists wait behind",
        "description": "Leads from purchased lists are served after others of the same score.",
        "rule_type": "set_priority",
        "condition": {"field": "source", "op": "eq", "value": "purchased_list"},
        "action": {"boost": -10},
        "priority": 50,
    },
]


def init_agent_rows(apps, schema_editor) -> None:
    HumanAgent = apps.get_model("agents", "HumanAgent")
    AgentAvailability = apps.get_model("agents", "AgentAvailability")
    AgentPerformance = apps.get_model("agents", "AgentPerformance")
    now = timezone.now()
    missing = HumanAgent.objects.filter(availability__isnull=True).values_list("pk", flat=True)
    AgentAvailability.objects.bulk_create(
        [AgentAvailability(agent_id=pk, status="offline", status_since=now) for pk in missing.iterator()],
        batch_size=1000,
    )
    missing = HumanAgent.objects.filter(performance__isnull=True).values_list("pk", flat=True)
    AgentPerformance.objects.bulk_create(
        [AgentPerformance(agent_id=pk) for pk in missing.iterator()], batch_size=1000
    )


def init_agent_rows_reverse(apps, schema_editor) -> None:
    # Rows this step created cannot be told from rows made since (an agent's availability is live
    # state); they are valid either way and the tables predate this migration, so they stay.
    pass


def rules_install(apps, schema_editor) -> None:
    RoutingRule = apps.get_model("routing", "RoutingRule")
    existing = set(RoutingRule.objects.values_list("name", flat=True))
    RoutingRule.objects.bulk_create(
        [RoutingRule(**rule, is_active=True) for rule in DEFAULT_RULES if rule["name"] not in existing]
    )


def rules_remove(apps, schema_editor) -> None:
    RoutingRule = apps.get_model("routing", "RoutingRule")
    for rule in DEFAULT_RULES:
        for row in RoutingRule.objects.filter(name=rule["name"]):
            if (row.rule_type, row.condition, row.action, row.priority) == (
                rule["rule_type"],
                rule["condition"],
                rule["action"],
                rule["priority"],
            ):
                row.delete()


class Migration(migrations.Migration):
    dependencies = [("routing", "0012_experiment_exactly_one_control"), ("agents", "0010_automation_fulltext_and_delete_rules")]

    operations = [
        migrations.RunPython(init_agent_rows, init_agent_rows_reverse),
        migrations.RunPython(rules_install, rules_remove),
    ]
