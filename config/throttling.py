"""The API's throttle (REST_FRAMEWORK's DEFAULT_THROTTLE_CLASSES): token clients only, counted in the
default cache, which production shares between server processes (Redis; config.checks warns when not)."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.authentication import TokenAuthentication
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

logger = logging.getLogger(__name__)


class TokenClientThrottle(UserRateThrottle):
    """Throttle integrations (token clients); supervisors in the browsable API are not throttled.

    Counted with a sliding-window counter on the default cache, by atomic increments: the request is
    admitted when the previous window's count, weighted by how much of it still lies within the last
    `duration` seconds, plus the current window's count (this request included) stays within the rate.
    DRF's own throttle keeps a list of timestamps and writes it back whole (read, modify, write), so
    processes sharing one cache overwrite each other's requests and admit more than the rate; an
    increment is atomic on Redis (and on the in-process cache under its lock). A refused request is
    taken back out of the count, so a client retrying while throttled is not locked out longer. The
    estimate assumes the previous window's requests were spread evenly: it admits the rate on average,
    and never more than twice it in any `duration` seconds (the bound of a fixed window).
    """

    scope = "token_client"

    def get_rate(self) -> str | None:
        # Read per request, not from the class attribute DRF binds at import time, so the rate follows
        # the settings (and a test's override_settings).
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view: Any) -> bool:
        if not isinstance(getattr(request, "successful_authenticator", None), TokenAuthentication):
            return True
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        try:
            return self._admit()
        except Exception:  # the cache is down (e.g. Redis unreachable): serve, and say so loudly
            logger.error("Throttle cache unavailable; request admitted unthrottled", exc_info=True)
            return True

    def _admit(self) -> bool:
        window, elapsed = divmod(self.now, self.duration)
        current_key, previous_key = f"{self.key}:{int(window)}", f"{self.key}:{int(window) - 1}"
        timeout = 2 * self.duration + 1  # the current window's count is the next one's "previous"
        self.cache.add(current_key, 0, timeout)
        try:
            current = self.cache.incr(current_key)
        except ValueError:  # expired between add and incr
            self.cache.set(current_key, 1, timeout)
            current = 1
        previous = self.cache.get(previous_key, 0)
        self._counts = (previous, current, elapsed)
        if previous * (1 - elapsed / self.duration) + current <= self.num_requests:
            return True
        self.cache.decr(current_key)  # a refused request does not count
        self._counts = (previous, current - 1, elapsed)
        return False

    def wait(self) -> float:
        """Seconds until a request would be admitted (the 429's Retry-After)."""
        previous, current, elapsed = self._counts
        return max(
            1.0,
            throttle_wait(
                previous=previous,
                current=current,
                elapsed=elapsed,
                duration=self.duration,
                rate=self.num_requests,
            ),
        )


def throttle_wait(*, previous: int, current: int, elapsed: float, duration: float, rate: int) -> float:
    """When TokenClientThrottle's estimate next admits a request: within this window once enough of
    the previous one has slid out, else in the next window, whose "previous" is this one's count."""
    room = rate - current - 1
    if room >= 0:
        if previous <= room:
            return 0.0
        within = duration * (1 - room / previous) - elapsed
        if within <= duration - elapsed:
            return max(within, 0.0)
    into_next = duration * (1 - (rate - 1) / current) if current else 0.0
    return (duration - elapsed) + max(into_next, 0.0)
