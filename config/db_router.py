"""Read replicas (DATABASE_REPLICA_URLS): which reads may be served by a replica, and the router that
sends them there.

A read goes to a replica only where the code making it has said it tolerates lag: inside
`replica_reads()`. The API's list endpoints get that scope from ReplicaReadsMiddleware (a GET or HEAD
on a view whose action is `list`, a list view, or a view that sets `replica_reads = True`; a view sets
it False to opt out); reports, exports and analytics wrap their reads in `replica_reads()` themselves.
Everything else reads the primary (`default`):
- every write, and every read after the scope has written anything (read-your-writes in a request);
- every read inside a transaction (`atomic`): row locks, read-modify-write, the services' checks;
- who is asking and what they may do (auth, tokens, sessions, lock-outs, content types): a new token or a
  revoked permission takes effect at once, whatever the replicas' lag;
- detail endpoints, the admin, commands and tests, unless they open a scope.
One scope reads one replica (picked at random when it opens), so a page is one consistent snapshot.
Migrations run on the primary only (replicas are copies of it). Without replicas this router is not
installed (config.settings) and `replica_reads()` changes nothing.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse

# Apps whose rows decide who may do what: always read from the primary.
PRIMARY_ONLY_APPS = frozenset({"auth", "authtoken", "sessions", "axes", "contenttypes", "admin"})
SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass
class _Scope:
    alias: str | None = None  # None: not (yet) allowed to read a replica
    wrote: bool = False


_scope: ContextVar[_Scope | None] = ContextVar("replica_scope", default=None)


def replicas() -> list[str]:
    return list(getattr(settings, "DATABASE_REPLICAS", []))


@contextlib.contextmanager
def replica_reads() -> Iterator[None]:
    """Reads inside may be served by a replica (they tolerate its lag); see the module docstring."""
    pool = replicas()
    token = _scope.set(_Scope(alias=random.choice(pool)) if pool else None)
    try:
        yield
    finally:
        _scope.reset(token)


class ReplicaRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        scope = _scope.get()
        if scope is None or scope.alias is None or scope.wrote:
            return None
        if model._meta.app_label in PRIMARY_ONLY_APPS:
            return None
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return None
        return scope.alias

    def db_for_write(self, model: Any, **hints: Any) -> str:
        scope = _scope.get()
        if scope is not None:
            scope.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        pool = {DEFAULT_DB_ALIAS, *replicas()}
        if obj1._state.db in pool and obj2._state.db in pool:
            return True  # the same data: a replica's row may point at the primary's
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db in replicas() else None


def _lag_tolerant(request: HttpRequest, view_func: Callable) -> bool:
    if request.method not in SAFE_METHODS:
        return False
    view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
    declared = getattr(view_class, "replica_reads", None)
    if declared is not None:
        return bool(declared)
    actions = getattr(view_func, "actions", None)  # a DRF viewset's method -> action map
    if actions is not None:
        return actions.get(request.method.lower()) == "list"
    from rest_framework.generics import ListAPIView

    return isinstance(view_class, type) and issubclass(view_class, ListAPIView)


class ReplicaReadsMiddleware:
    """Opens a replica scope for each request and lets it read replicas once the view is known to be a
    list (see the module docstring). Installed with the router, only when replicas are configured."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _scope.set(_Scope())
        try:
            return self.get_response(request)
        finally:
            _scope.reset(token)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: Any, view_kwargs: Any
    ) -> None:
        scope = _scope.get()
        pool = replicas()
        if scope is not None and pool and _lag_tolerant(request, view_func):
            scope.alias = random.choice(pool)
