from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _register_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """SQLite has no percentile aggregate; the analytics' p95 uses this one (voice.engine.stats)."""
    if connection.vendor != "sqlite":
        return
    from voice.engine.stats import NearestRankAggregate
    from voice.selectors.analytics import SQLITE_PERCENTILE_FUNCTION

    connection.connection.create_aggregate(SQLITE_PERCENTILE_FUNCTION, 2, NearestRankAggregate)


class VoiceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "voice"
    verbose_name = "Voice agent"

    def ready(self) -> None:
        connection_created.connect(_register_sqlite_functions, dispatch_uid="voice.sqlite_functions")
