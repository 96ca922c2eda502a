from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate


def _sync_roles(sender, apps=global_apps, **kwargs) -> None:
    # `flush` (and so every transactional test teardown) sends post_migrate without `apps`.
    from agents.roles import role_permissions_sync

    if any(model._meta.label_lower == "agents.humanagent" for model in apps.get_models()):
        role_permissions_sync(apps)


class AgentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "agents"

    def ready(self) -> None:
        # Models added by later migrations of any project app get their view/edit grants too.
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="agents.sync_roles")
