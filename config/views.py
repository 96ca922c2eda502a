"""The project's own API views (the apps' views live in their api/ packages).

Kept out of config.api, which DRF's settings import: a view module imported from there would import
rest_framework.views while DRF is still reading its settings.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView


@extend_schema(exclude=True)  # an index of links, not an operation an integration calls
class ApiIndexView(APIView):
    """The resources of one part of the API, each a link that answers GET."""

    # (key, URL name) or (key, URL name, query string) of each link; given to as_view(). Only what a
    # browser can open: an operation that takes only POST (routing a case) is on the docs page, not
    # here, where its link answered 405; a list that needs a parameter is linked with one.
    links: tuple[tuple[str, ...], ...] = ()
    name: str | None = None  # the browsable API's page title, given to as_view()
    permission_classes = [permissions.IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response(
            {
                key: reverse(url_name, request=request) + (f"?{query[0]}" if query else "")
                for key, url_name, *query in self.links
            }
        )


@extend_schema(exclude=True)  # an index of links, not an operation an integration calls
class ApiRootView(APIView):
    """Where the resources are. Integrations: see the API docs (`docs`) for every operation."""

    # /api/v1/, for a person exploring the browsable API (signed in).
    name = "Switchboard API"
    permission_classes = [permissions.IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response(
            {
                "agents": reverse("agent-list", request=request),
                "routing": reverse("routing-api:index", request=request),
                "routing_queue": reverse("routing-api:queue-list", request=request),
                "routing_leads": reverse("routing-api:lead-list", request=request),
                "routing_assignment_queue": reverse("routing-api:assignment-queue", request=request),
                "routing_rules": reverse("routing-api:rule-list", request=request),
                "routing_experiments": reverse("routing-api:experiment-list", request=request),
                "automation": reverse("automation-api:index", request=request),
                "automation_agents": reverse("automation-api:agent-list", request=request),
                "automation_tasks": reverse("automation-api:task-list", request=request),
                "automation_workflows": reverse("automation-api:workflow-list", request=request),
                "automation_messages": reverse("automation-api:message-list", request=request),
                "scoring": reverse("scoring-api:index", request=request),
                "voice": reverse("voice-api:index", request=request),
                "scoring_queue": reverse("scoring-api:queue", request=request),
                "scoring_callbacks": reverse("scoring-api:callbacks", request=request),
                "scoring_conversions": reverse("scoring-api:conversions", request=request),
                "schema": reverse("schema", request=request),
                "docs": reverse("api-docs", request=request),
            }
        )
