"""Routing API: thin views. Serializers validate, routing.services write, routing.selectors read.

Every domain error a service raises (unknown skill, case already routed, invalid transition, ...) is
rendered by config.api.api_exception_handler as {"detail", "code", "fields"} with its own status; the
services are transactional, so a rejected request changes nothing.

Request parsing (JSON nested too deeply is a 400, an oversized body a 413) and the answers every view
gives alike (401, 403, 413, 429 in the OpenAPI schema) are project-wide conventions: config.api and
config.openapi.

Permissions are model permissions (config.api.StrictModelPermissions), so each view names the model it
guards through `queryset`: routing a case adds a SupportCase, starting and completing change a
CaseAssignment, the queue and the case detail are views of their models.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import ApiErrorSerializer, StrictModelPermissions, rendered
from routing.api.serializers import (
    AssignedOutcomeSerializer,
    AssignmentActionInputSerializer,
    CaseAssignmentSerializer,
    CaseCompleteInputSerializer,
    CaseInputSerializer,
    QueuedOutcomeSerializer,
    SupportCaseDetailSerializer,
    WaitingEntrySerializer,
)
from routing.models import (
    CASE_ID_CHARACTERS,
    CASE_ID_MESSAGE,
    CaseAssignment,
    EscalationQueueEntry,
    SupportCase,
)
from routing.selectors import case_detail, queue_position, queue_serving_order
from routing.selectors.cases import CASE_EVENTS_SHOWN
from routing.services import CaseRequest, case_complete, case_route, case_start

CASE_ID_PARAMETER = OpenApiParameter(
    "case_id",
    str,
    OpenApiParameter.PATH,
    description=f"The case id given when the case was routed. {CASE_ID_MESSAGE}",
    pattern=f"^{CASE_ID_CHARACTERS}$",
)


class ChangeModelPermissions(StrictModelPermissions):
    """POST on these endpoints changes an existing object (a transition), so it needs `change`."""

    perms_map = {**StrictModelPermissions.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}


def _errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """The routing answers of an endpoint; 401, 403, 413 and 429 are added project-wide (config.openapi)."""
    descriptions = {
        400: "Invalid input; `fields` names each bad field.",
        404: "No such case.",
        409: "Conflicts with the case's current state.",
    }
    return {code: OpenApiResponse(ApiErrorSerializer, description=descriptions[code]) for code in statuses}


class CaseRouteApi(APIView):
    name = "Route a case"  # the browsable API's page title
    queryset = SupportCase.objects.none()

    @extend_schema(
        operation_id="routing_case_route",
        summary="Route a new case",
        description="Scores the eligible agents with the strategy and assigns the best one (201), or, when "
        "nobody can take the case now, puts it in the escalation queue (202) with its position.",
        request=CaseInputSerializer,
        responses={
            201: OpenApiResponse(AssignedOutcomeSerializer, description="Assigned to an agent."),
            202: OpenApiResponse(QueuedOutcomeSerializer, description="Queued: nobody can take it now."),
            **_errors(400, 409),
        },
        tags=["routing"],
    )
    def post(self, request: Request) -> Response:
        payload = CaseInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        outcome = case_route(request=CaseRequest(**payload.validated_data))
        if outcome.assignment is not None:
            body = rendered(AssignedOutcomeSerializer, outcome)
        else:
            now = timezone.now()
            outcome.queue_entry.position = queue_position(entry=outcome.queue_entry, now=now)
            body = QueuedOutcomeSerializer(outcome, context={"now": now}).data
        return Response(body, status=outcome.http_status)


class CaseDetailApi(APIView):
    name = "A case and its history"  # the browsable API's page title
    queryset = SupportCase.objects.none()

    @extend_schema(
        operation_id="routing_case_detail",
        summary="A case with its assignments, queue entries, routing decisions and events",
        description="Live and archived assignments, every queue entry and routing decision, and the "
        f"newest {CASE_EVENTS_SHOWN} routing events (`events_truncated` when there are older ones).",
        parameters=[CASE_ID_PARAMETER],
        responses={200: SupportCaseDetailSerializer, **_errors(404)},
        tags=["routing"],
    )
    def get(self, request: Request, case_id: str) -> Response:
        return Response(rendered(SupportCaseDetailSerializer, case_detail(case_id=case_id)))


class CaseStartApi(APIView):
    name = "Start work on a case"  # the browsable API's page title
    queryset = CaseAssignment.objects.none()
    permission_classes = [ChangeModelPermissions]

    @extend_schema(
        operation_id="routing_case_start",
        summary="The assigned agent starts working the case",
        description="Name the assignment (`assignment_id`, from the routing answer) or the acting agent "
        "(`agent`). An assignment that is no longer open (the case was taken back after the acceptance "
        "timeout and given to someone else) answers 409 `stale_assignment`, and nothing changes.",
        request=AssignmentActionInputSerializer,
        parameters=[CASE_ID_PARAMETER],
        responses={200: CaseAssignmentSerializer, **_errors(400, 404, 409)},
        tags=["routing"],
    )
    def post(self, request: Request, case_id: str) -> Response:
        payload = AssignmentActionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        assignment = case_start(case_id=case_id, **payload.validated_data)
        return Response(rendered(CaseAssignmentSerializer, assignment))


class CaseCompleteApi(APIView):
    name = "Complete a case"  # the browsable API's page title
    queryset = CaseAssignment.objects.none()
    permission_classes = [ChangeModelPermissions]

    @extend_schema(
        operation_id="routing_case_complete",
        summary="Complete the case",
        description="Closes the named open assignment (`assignment_id` or the acting `agent`) with its "
        "outcome; the freed capacity is offered to the queue. A stale assignment answers 409 "
        "`stale_assignment` and records nothing.",
        request=CaseCompleteInputSerializer,
        parameters=[CASE_ID_PARAMETER],
        responses={200: CaseAssignmentSerializer, **_errors(400, 404, 409)},
        tags=["routing"],
    )
    def post(self, request: Request, case_id: str) -> Response:
        payload = CaseCompleteInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        assignment = case_complete(case_id=case_id, **payload.validated_data)
        return Response(rendered(CaseAssignmentSerializer, assignment))


class QueueListApi(generics.ListAPIView):
    """Waiting cases in the order they will be served: overdue first, then by priority, then by age."""

    # Positions are page offset + index: no query per row.
    name = "Waiting cases in serving order"  # the browsable API's page title

    queryset = EscalationQueueEntry.objects.none()
    serializer_class = WaitingEntrySerializer
    filter_backends: list = []  # the serving order is the point; reordering would falsify positions

    @extend_schema(
        operation_id="routing_queue_list",
        summary="The escalation queue in serving order",
        description="Overdue entries first, then by priority, then oldest first; each with its position, "
        "waiting time and whether it waited past its SLA.",
        responses={200: WaitingEntrySerializer(many=True)},
        tags=["routing"],
    )
    def get(self, request: Request) -> Response:
        now = timezone.now()
        page = self.paginate_queryset(queue_serving_order(now=now))
        first = self.paginator.page.start_index() if page else 1
        for offset, entry in enumerate(page or []):
            entry.position = first + offset
        serializer = WaitingEntrySerializer(page, many=True, context={"now": now})
        return self.get_paginated_response(serializer.data)
