"""Production settings: no insecure defaults; `manage.py check --deploy` passes with zero warnings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import *  # noqa: F403
from .base import env

if TYPE_CHECKING:
    from django.http import HttpRequest

DEBUG = False
SECRET_KEY = env("SECRET_KEY")  # no default: a production host must set a real one
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- State shared by every server process -----------------------------------------------------------
# Several gunicorn workers (and hosts) serve the API: the throttle counts in the default cache, so that
# cache must be shared, not each process's memory (config.checks warns on a per-process one). Redis
# on this host by default. Short socket timeouts: a stalled Redis must not stall requests (the throttle
# admits and logs when its cache fails: config.throttling.TokenClientThrottle).
CACHES = {"default": env.cache("CACHE_URL", default="redis://127.0.0.1:6379/0")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"].setdefault("OPTIONS", {}).update({"socket_connect_timeout": 1, "socket_timeout": 1})

REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    # No browsable API in production: integrations speak JSON.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

# --- Behind reverse proxies: the client address django-axes locks out ------------------------------
# Axes counts failed admin logins per client IP. Behind a reverse proxy REMOTE_ADDR is the proxy, so
# every client would share one counter (one attacker locks everybody out). With TRUSTED_PROXY_COUNT=N
# proxies in front of Django, each appending the address it received the request from, the client is
# the N-th address from the right of X-Forwarded-For; anything further left was sent by the client and
# is not trusted. django-axes 8 applies AXES_IPWARE_PROXY_COUNT only through the optional django-ipware
# package, which this project does not install, so the count is applied by AXES_CLIENT_IP_CALLABLE.
# 0 (the default) means no proxy: REMOTE_ADDR is the client.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)


def client_ip_behind_proxies(request: HttpRequest) -> str | None:
    from django.conf import settings

    count = settings.TRUSTED_PROXY_COUNT
    remote_addr = request.META.get("REMOTE_ADDR")
    if count <= 0:
        return remote_addr
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:  # did not pass through every trusted proxy: nothing to trust
        return remote_addr
    return forwarded[-count]


AXES_CLIENT_IP_CALLABLE = client_ip_behind_proxies
