"""System checks of the project's wiring (registered by config.apps.SwitchboardConfig).

Shared state (deploy): several server processes serve the API in production, and two counters must be
shared by all of them, or each process counts on its own and the limit multiplies by the number of
processes (seen: 4,798 requests in 45 s through a 1,200/min throttle with four workers):
- the API throttle (config.throttling.TokenClientThrottle) counts in the default cache;
- the admin login lock-out (django-axes) counts failed logins in the database with its database
  handler (shared), or in AXES_CACHE with its cache handler.
A cache that lives in one process's memory (locmem), in one host's files (file-based) or nowhere
(dummy) is not shared, so `check --deploy` warns about it (switchboard.W001, switchboard.W002).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.utils.module_loading import import_string

PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
)
AXES_CACHE_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_PER_PROCESS_HANDLERS = ("axes.handlers.dummy.AxesDummyHandler",)


def _is_per_process(alias: str) -> bool:
    backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
    try:
        backend_class = import_string(backend)
    except ImportError:
        return False  # Django's own cache checks report a backend that does not import
    return any(issubclass(backend_class, import_string(name)) for name in PER_PROCESS_CACHES)


def _handler_is(handler: str, target: str) -> bool:
    try:
        return issubclass(import_string(handler), import_string(target))
    except ImportError:
        return handler == target


@register(Tags.security, Tags.caches, deploy=True)
def shared_state_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if _is_per_process("default"):
        messages.append(
            Warning(
                f"The API throttle counts in the default cache ({settings.CACHES['default']['BACKEND']}), "
                "which is not shared between server processes: each process would admit the full rate.",
                hint="Set CACHE_URL to a shared cache, e.g. redis://127.0.0.1:6379/0.",
                id="switchboard.W001",
            )
        )
    handler = getattr(settings, "AXES_HANDLER", "axes.handlers.database.AxesDatabaseHandler")
    axes_cache = getattr(settings, "AXES_CACHE", "default")
    if _handler_is(handler, AXES_CACHE_HANDLER) and _is_per_process(axes_cache):
        messages.append(
            Warning(
                f"The admin login lock-out counts failed logins in the cache {axes_cache!r}, which is not "
                "shared between server processes: each process would allow the full number of attempts.",
                hint="Use axes.handlers.database.AxesDatabaseHandler, or point AXES_CACHE at a shared cache.",
                id="switchboard.W002",
            )
        )
    elif any(_handler_is(handler, name) for name in AXES_PER_PROCESS_HANDLERS):
        messages.append(
            Warning(
                f"The admin login lock-out handler {handler} counts nothing: logins are not protected.",
                hint="Use axes.handlers.database.AxesDatabaseHandler.",
                id="switchboard.W002",
            )
        )
    return messages
