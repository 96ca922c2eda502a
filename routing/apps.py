from django.apps import AppConfig


class RoutingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "routing"

    def ready(self) -> None:
        from agents.signals import agent_capacity_freed
        from routing.services import on_agent_capacity_freed

        agent_capacity_freed.connect(
            on_agent_capacity_freed, dispatch_uid="routing.queue_dispatch_on_capacity_freed"
        )
