"""The agent roster as a CSV (django-import-export), keyed on the agent's stable `code`.

An import is all or nothing: every row is validated with the model's full_clean (choices, e-mail format,
uniqueness, CHECK constraints), and one invalid row rolls the whole file back, also in the confirmed
(non dry-run) step, where import-export would otherwise skip invalid rows and save the others.

Rows are written through agents.services like every other write: a new agent through agent_create (with
its availability and performance rows), a changed one through agent_update, so `is_active=0` takes the
agent offline exactly as the admin action and the API do.
"""

from __future__ import annotations

from typing import Any

from import_export import fields, resources, widgets

from agents.models import HumanAgent
from agents.services import AGENT_EDITABLE_FIELDS, agent_create, agent_ensure_live_rows, agent_update

ROSTER_COLUMNS = AGENT_EDITABLE_FIELDS


class BlankIsNullWidget(widgets.CharWidget):
    """A blank cell is NULL: `employee_id` is unique, and two agents without one must not collide on ""."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str | None:
        cleaned = super().clean(value, row, **kwargs)
        return cleaned.strip() or None if cleaned is not None else None


class HumanAgentResource(resources.ModelResource):
    employee_id = fields.Field(attribute="employee_id", column_name="employee_id", widget=BlankIsNullWidget())

    class Meta:
        model = HumanAgent
        fields = ROSTER_COLUMNS
        export_order = ROSTER_COLUMNS
        import_id_fields = ("code",)
        clean_model_instances = True
        use_transactions = True
        skip_unchanged = True  # an unchanged row writes no history record
        report_skipped = True

    def import_data(self, dataset: Any, **kwargs: Any) -> Any:
        kwargs["rollback_on_validation_errors"] = True
        return super().import_data(dataset, **kwargs)

    def do_instance_save(self, instance: HumanAgent, is_create: bool) -> None:
        attributes = {name: getattr(instance, name) for name in AGENT_EDITABLE_FIELDS}
        if not is_create:
            agent_update(agent=instance, **attributes)
            return
        created = agent_create(**attributes)
        instance.pk = created.pk
        instance._state.adding, instance._state.db = False, created._state.db

    def after_save_instance(self, instance: HumanAgent, row: Any, **kwargs: Any) -> None:
        if instance.pk is not None:  # None only on a dry run without transactions
            agent_ensure_live_rows(agent=instance)  # an existing agent that lacked its live rows
