from django.apps import AppConfig


class RoutingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "routing"

    def ready(self) -> None:
        from agents.signals import agent_capacity_freed, agent_schedules_changed, agent_status_changed
        from routing.selectors.schedules import schedule_zones_forget
        from routing.services import on_agent_capacity_freed
        from routing.services.fatigue import rest_after_status_change

        agent_schedules_changed.connect(
            schedule_zones_forget, dispatch_uid="routing.schedule_zones_forget_bulk"
        )
        # Rest first (connected first): a rested agent coming back is then offered difficult work too.
        agent_status_changed.connect(
            rest_after_status_change, dispatch_uid="routing.fatigue_rest_on_status_change"
        )
        agent_capacity_freed.connect(
            on_agent_capacity_freed, dispatch_uid="routing.queue_dispatch_on_capacity_freed"
        )
