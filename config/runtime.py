"""Process-wide runtime tuning, applied once by every entry point (config.wsgi, config.asgi, manage.py).

Python's cyclic garbage collector. A request leaves its model instances in reference cycles (a
prefetched row keeps a reference back to its parent), so only the cyclic collector frees them, and
the rows of a request still alive when the youngest generation fills up are promoted to the older
ones. With CPython's thresholds (700, 10, 10) a page of 50 agents with their nested rows set off a
full collection every ten requests or so, traversing the whole heap: the agent list's p95 was 3x its
p50 (~220 ms against ~70 ms on the benchmark machine, `bench_agents`), and with the collector off the
tail disappeared. A youngest generation of 50,000 objects lets most of a request's garbage die before
a collection looks at it and makes full collections rare (p95 ~95 ms); memory stays bounded because
the collector still runs. GC_THRESHOLDS (settings) overrides the three thresholds.
"""

from __future__ import annotations

import gc

from django.core.exceptions import ImproperlyConfigured


def gc_tune() -> None:
    """Set the collector's thresholds from settings.GC_THRESHOLDS (three non-negative integers)."""
    from django.conf import settings

    try:
        thresholds = list(settings.GC_THRESHOLDS)
    except ImproperlyConfigured:
        return  # manage.py without loadable settings: Django reports that itself
    if len(thresholds) != 3 or any(value < 0 for value in thresholds):
        raise ImproperlyConfigured(
            f"GC_THRESHOLDS must be three non-negative integers (generations 0, 1, 2), not {thresholds}."
        )
    gc.set_threshold(*thresholds)
