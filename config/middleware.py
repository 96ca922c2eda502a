"""A NUL character in a URL is refused at the door, for the whole site (API and admin alike).

PostgreSQL text cannot hold one, so a query that compares a column with it fails in the database (a
DataError, a 500), wherever a query parameter or path segment reaches a lookup: an admin changelist
filter (`?department=a%00b`), a filter backend, a lookup in a view. No URL of this site takes one, so
every such request is a 400 before any view runs: in the API's error shape, naming the parameter, under
/api/; a plain 400 elsewhere. (Request bodies are the serializers' business: their fields refuse NUL
characters and name the field.)
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

from config.api import API_PATH_PREFIX

NUL = "\x00"
MESSAGE = "Null characters are not allowed."


class RejectNulCharactersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        named = sorted(
            {name for name, values in request.GET.lists() if NUL in name or any(NUL in v for v in values)}
        )
        if NUL in request.path or named:
            if not request.path.startswith(API_PATH_PREFIX):
                return HttpResponseBadRequest(MESSAGE)
            fields = {name.replace(NUL, "\\x00"): [MESSAGE] for name in named} or {"path": [MESSAGE]}
            return JsonResponse(
                {"detail": "Invalid input.", "code": "null_characters", "fields": fields}, status=400
            )
        return self.get_response(request)
