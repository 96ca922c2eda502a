from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


def _register_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """SQLite has no percentile aggregate; the analytics' p95 uses this one (voice.engine.stats)."""
    if connection.vendor != "sqlite":
        return
    from voice.engine.stats import NearestRankAggregate
    from voice.selectors.analytics import SQLITE_PERCENTILE_FUNCTION

    connection.connection.create_aggregate(SQLITE_PERCENTILE_FUNCTION, 2, NearestRankAggregate)


def _sync_voice_roles(sender: Any, apps: Any = None, **kwargs: Any) -> None:
    # `flush` (every transactional test's teardown) sends post_migrate without `apps`.
    from django.apps import apps as global_apps

    from voice.roles import voice_roles_sync

    apps = apps or global_apps
    if any(model._meta.label_lower == "voice.membership" for model in apps.get_models()):
        voice_roles_sync(apps)


class VoiceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "voice"
    verbose_name = "Voice agent"

    def ready(self) -> None:
        connection_created.connect(_register_sqlite_functions, dispatch_uid="voice.sqlite_functions")
        post_migrate.connect(_sync_voice_roles, sender=self, dispatch_uid="voice.sync_roles")
