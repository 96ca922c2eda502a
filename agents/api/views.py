"""Thin views over agents.selectors (reads) and agents.services (writes).

Each write is one service call, so one transaction: nothing is half-written when a nested row fails.
DELETE deactivates rather than deletes: cases, decisions and history keep pointing at the agent, and
an inactive agent is offline and receives no work. It needs the `delete_humanagent` permission.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from agents.api.filters import AgentFilter
from agents.api.serializers import AgentAvailabilitySerializer, AgentSerializer
from agents.models import AgentAvailability, HumanAgent
from agents.selectors import agent_availability_get, agent_detail, agent_list, agent_page
from agents.services import agent_availability_update, agent_create, agent_deactivate, agent_update
from config.api import ApiErrorSerializer, rendered


def _errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """The agents answers of an endpoint; 401, 403, 413 and 429 (with Retry-After) are added to every
    operation they apply to, project-wide (config.openapi)."""
    described = {
        400: "Invalid input; `fields` names each invalid field.",
        404: "No agent with that code.",
        409: "Conflicts with the current data; `code` says how (e.g. agent_inactive, conflict).",
    }
    return {status: OpenApiResponse(ApiErrorSerializer, description=described[status]) for status in statuses}


NESTED_WRITES = (
    "Nested `skills`, `languages`, `specializations` and `schedules`: a list that is given replaces "
    "that set (rows matched by skill domain, language code and specialization name are updated, new "
    "ones created, missing ones deleted; a schedule is kept only if repeated unchanged). A list that is "
    "omitted is left alone, on PUT as on PATCH; send `[]` to clear a set. `availability` and "
    "`performance` are read-only (see /agents/{code}/availability/). All or nothing: one invalid "
    "nested row rejects the whole request."
)


@extend_schema_view(
    list=extend_schema(
        summary="List agents",
        description="Paginated; filter, search and order.",
        responses={200: AgentSerializer(many=True), **_errors(400)},
    ),
    retrieve=extend_schema(summary="Get an agent", responses={200: AgentSerializer, **_errors(404)}),
    create=extend_schema(
        summary="Create an agent",
        description="Also creates its availability (offline) and performance rows. " + NESTED_WRITES,
        responses={201: AgentSerializer, **_errors(400, 409)},
    ),
    update=extend_schema(
        summary="Replace an agent",
        description=NESTED_WRITES,
        responses={200: AgentSerializer, **_errors(400, 404, 409)},
    ),
    partial_update=extend_schema(
        summary="Update an agent",
        description=NESTED_WRITES,
        responses={200: AgentSerializer, **_errors(400, 404, 409)},
    ),
    destroy=extend_schema(
        summary="Deactivate an agent",
        description=(
            "Deactivates the agent (is_active=false, availability offline); the row is kept because "
            "cases and history refer to it. Needs the delete permission."
        ),
        responses={204: OpenApiResponse(description="Deactivated."), **_errors(404)},
    ),
)
class AgentViewSet(GenericViewSet):
    serializer_class = AgentSerializer
    # The codes HumanAgent.code accepts (validate_slug); anything else is not an agent URL (JSON 404).
    lookup_value_regex = r"[A-Za-z0-9_-]+"
    filterset_class = AgentFilter
    search_fields = ["name", "email", "code", "employee_id"]
    ordering_fields = ["code", "name", "department", "hire_date", "skill_level", "created_at", "updated_at"]
    ordering = ["code"]
    lookup_field = "code"
    count_with_page = True  # the list's count comes with its page (config.api.StandardPagination)

    def get_queryset(self):  # StrictModelPermissions reads the model (HumanAgent) from it
        return agent_list()

    def _agent(self, code: str) -> HumanAgent:
        agent = agent_detail(code=code)
        self.check_object_permissions(self.request, agent)
        return agent

    def list(self, request: Request) -> Response:
        page = agent_page(self.filter_queryset(self.get_queryset()), self.paginate_queryset)
        return self.get_paginated_response(rendered(AgentSerializer, page, many=True))

    def retrieve(self, request: Request, code: str) -> Response:
        return Response(rendered(AgentSerializer, self._agent(code)))

    def create(self, request: Request) -> Response:
        payload = AgentSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        agent = agent_create(**payload.validated_data)
        return Response(
            rendered(AgentSerializer, agent_detail(code=agent.code)), status=status.HTTP_201_CREATED
        )

    def update(self, request: Request, code: str) -> Response:
        return self._update(request, code, partial=False)

    def partial_update(self, request: Request, code: str) -> Response:
        return self._update(request, code, partial=True)

    def _update(self, request: Request, code: str, *, partial: bool) -> Response:
        agent = self._agent(code)
        payload = AgentSerializer(agent, data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        agent = agent_update(agent=agent, **payload.validated_data)
        return Response(rendered(AgentSerializer, agent_detail(code=agent.code)))

    def destroy(self, request: Request, code: str) -> Response:
        agent_deactivate(agent=self._agent(code))
        return Response(status=status.HTTP_204_NO_CONTENT)


CODE_PARAMETER = OpenApiParameter("code", str, OpenApiParameter.PATH, description="The agent's code.")


@extend_schema(parameters=[CODE_PARAMETER])
class AgentAvailabilityApi(GenericAPIView):
    """An agent's live status. The permission check uses AgentAvailability: view to read, change to set."""

    serializer_class = AgentAvailabilitySerializer
    queryset = AgentAvailability.objects.all()  # the model StrictModelPermissions checks
    pagination_class = None
    filter_backends: list[Any] = []
    # The handlers below read and write through agents.selectors and agents.services; get_object serves
    # DRF's own machinery (OPTIONS metadata and the browsable API's forms look the object up to check
    # object permissions), which otherwise fails an assertion looking for a `pk` URL argument (a 500).
    lookup_field = "agent__code"
    lookup_url_kwarg = "code"

    @extend_schema(
        summary="Get an agent's availability",
        description="409 `availability_missing` when the agent exists but has no availability row yet.",
        responses={200: AgentAvailabilitySerializer, **_errors(404, 409)},
    )
    def get(self, request: Request, code: str) -> Response:
        return Response(rendered(AgentAvailabilitySerializer, agent_availability_get(code=code)))

    @extend_schema(
        summary="Set an agent's availability",
        description=(
            "A full replacement: `status` is required and omitted optional fields are reset: "
            "override_reason to empty, expected_available_at to null. The status is the caller's "
            "decision: any status but available is a manual override that routing leaves alone "
            "(manual_override true). An inactive agent cannot be made available or busy (409 "
            "agent_inactive)."
        ),
        responses={200: AgentAvailabilitySerializer, **_errors(400, 404, 409)},
    )
    def put(self, request: Request, code: str) -> Response:
        payload = AgentAvailabilitySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        changes = {"override_reason": "", "expected_available_at": None, **payload.validated_data}
        return Response(
            rendered(AgentAvailabilitySerializer, agent_availability_update(code=code, **changes))
        )

    @extend_schema(
        summary="Change an agent's availability",
        description=(
            "Omitted fields keep their value. A status given is the caller's decision (see PUT). An inactive "
            "agent cannot be made available or busy (409 agent_inactive)."
        ),
        responses={200: AgentAvailabilitySerializer, **_errors(400, 404, 409)},
    )
    def patch(self, request: Request, code: str) -> Response:
        payload = AgentAvailabilitySerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        availability = agent_availability_update(code=code, **payload.validated_data)
        return Response(rendered(AgentAvailabilitySerializer, availability))
