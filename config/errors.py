"""Domain errors as data.

Services raise a DomainError subclass carrying a stable machine `code`, an HTTP status and optional
per-field messages. The API exception handler (config.api) renders every error, domain or DRF, as
`{"detail": ..., "code": ..., "fields": {...}}`; management commands print `detail` and exit non-zero.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code: str = "domain_error"
    http_status: int = 400
    default_detail: str = "The request could not be carried out."

    def __init__(
        self, detail: str | None = None, *, fields: dict[str, list[str]] | None = None, **context: Any
    ):
        self.detail = detail or self.default_detail.format(**context)
        self.fields = fields or {}
        self.context = context
        super().__init__(self.detail)


class NotFoundError(DomainError):
    code = "not_found"
    http_status = 404
    default_detail = "Not found."


class ConflictError(DomainError):
    code = "conflict"
    http_status = 409
    default_detail = "The request conflicts with the current state."
