"""Scoring API (outbound calling), mounted at /api/v1/scoring/: thin views over scoring.services (one
transaction each) and scoring.selectors (reads).

Permissions are model permissions (config.api.StrictModelPermissions), named by each view's `queryset`:
reads need `view`; scheduling a callback, logging a call and recording a conversion add a row (`add`);
scoring a person and claiming the next one change an existing row (`change`). Errors come out in the one
shape (config.api); a rejected request changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import ApiErrorSerializer, StandardPagination, rendered
from routing.api.views import ChangeModelPermissions
from scoring.api.serializers import (
    CallbackEntrySerializer,
    CallbackInputSerializer,
    CallbackPageSerializer,
    CallbackQuerySerializer,
    CallConversionPageSerializer,
    CallConversionSerializer,
    CallConversionTotalsSerializer,
    CallQueueClaimSerializer,
    CallScoreSerializer,
    CallSessionInputSerializer,
    CallSessionSerializer,
    ConversionInputSerializer,
    ConversionQuerySerializer,
    QueueClaimInputSerializer,
    QueuedCallSerializer,
    QueueQuerySerializer,
    ScoreInputSerializer,
)
from scoring.models import CallQueueEntry, CallSession, Conversion, ConversionType, QueueType, UserCallScore
from scoring.selectors import (
    callbacks_due,
    callbacks_pending,
    conversion_totals,
    conversions_filtered,
    queue_serving,
)
from scoring.services import (
    call_session_log,
    callback_schedule,
    conversion_record,
    queue_claim_next,
    score_person,
)

TAG = "outbound scoring"
PAST_LAST_PAGE = "A page past the last one (`page_not_found`)."

PAGE_PARAMETERS = [
    OpenApiParameter(
        "page",
        int,
        OpenApiParameter.QUERY,
        description="Page number, from 1. A page past the last one is a 404 `page_not_found`.",
    ),
    OpenApiParameter(
        "page_size",
        int,
        OpenApiParameter.QUERY,
        description="Results per page (default 50); larger than the maximum (200 unless configured) is "
        "capped to it.",
    ),
]


def _errors(*statuses: int, missing: str = "No lead with that id.", conflict: str = "") -> dict:
    """The answers of an endpoint besides its body; 401, 403, 413, 415 and 429 are added project-wide."""
    described = {
        400: "Invalid input; `fields` names each invalid field.",
        404: missing,
        409: conflict or "Conflicts with the current state; `code` says how.",
    }
    return {code: OpenApiResponse(ApiErrorSerializer, description=described[code]) for code in statuses}


def _query(serializer_class: type, request: Request) -> dict[str, Any]:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class ScoreApi(APIView):
    queryset = UserCallScore.objects.none()
    permission_classes = [ChangeModelPermissions]

    @extend_schema(
        operation_id="scoring_score",
        summary="Score a person now",
        description="Computes the person's call score from their current state (queue type, days since "
        "created and since the last call, call attempts, outstanding documents, signature, a callback due), "
        "stores it and returns it with the contribution of every factor. The first score creates the "
        "person's score row (`created`).",
        request=ScoreInputSerializer,
        responses={200: CallScoreSerializer, **_errors(400, 404)},
        tags=[TAG],
    )
    def post(self, request: Request) -> Response:
        payload = ScoreInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        outcome = score_person(person_id=payload.validated_data["person"])
        return Response(rendered(CallScoreSerializer, outcome))


QUEUE_TYPE_PARAMETER = OpenApiParameter(
    "queue_type",
    str,
    OpenApiParameter.QUERY,
    required=True,
    enum=list(QueueType.values),
    description="The queue to list. Required; an unknown one is a 400 naming it.",
)


class QueueApi(generics.ListAPIView):
    """People to call in serving order. Positions are page offset + index: no query per row."""

    queryset = CallQueueEntry.objects.none()
    serializer_class = QueuedCallSerializer
    filter_backends: list = []  # the serving order is the point; reordering would falsify positions

    @extend_schema(
        operation_id="scoring_queue",
        summary="A call queue in serving order",
        description="The people of one queue who may be called now: due callbacks first (the oldest "
        "promise first), then the highest score, then the oldest entry. People outside their calling "
        "window (in their own time zone), at the maximum number of attempts, called within the minimum "
        "re-call gap, already being called or converted are left out.",
        parameters=[QUEUE_TYPE_PARAMETER],
        responses={200: QueuedCallSerializer(many=True), **_errors(400)},
        tags=[TAG],
    )
    def get(self, request: Request) -> Response:
        query = _query(QueueQuerySerializer, request)
        page = self.paginate_queryset(queue_serving(queue_type=query["queue_type"], now=timezone.now()))
        first = self.paginator.page.start_index() if page else 1
        for offset, entry in enumerate(page or []):
            entry.position = first + offset
        return self.get_paginated_response(rendered(QueuedCallSerializer, page, many=True))


class QueueClaimApi(APIView):
    queryset = CallQueueEntry.objects.none()
    permission_classes = [ChangeModelPermissions]

    @extend_schema(
        operation_id="scoring_queue_claim",
        summary="Take the next person to call",
        description="Gives the agent the first person of the queue in serving order (a due callback the "
        "agent may take first, then the highest score) and marks the entry in progress for them. Two "
        "agents asking at once never get the same person. When nobody can be called now the answer is "
        "404 `queue_empty`; an unknown agent is a 400 naming `agent`.",
        request=QueueClaimInputSerializer,
        responses={
            200: CallQueueClaimSerializer,
            **_errors(400, 404, missing="Nobody in that queue can be called now (`queue_empty`)."),
        },
        tags=[TAG],
    )
    def post(self, request: Request) -> Response:
        payload = QueueClaimInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        claim = queue_claim_next(**payload.validated_data)
        return Response(rendered(CallQueueClaimSerializer, claim))


class CallbacksApi(APIView):
    queryset = CallQueueEntry.objects.none()
    empty_means_absent = ("due", "overdue")

    @extend_schema(
        operation_id="scoring_callback_list",
        summary="Pending callbacks",
        description="Pending callbacks, the earliest first. `due=true`: only those whose time has come; "
        "`overdue=true`: only those past the hand-over delay (an agent-only callback then passes to "
        "anyone). `false` is the same as leaving the parameter out.",
        parameters=[
            OpenApiParameter(
                "due", str, OpenApiParameter.QUERY, enum=["true", "false"], description="Due now."
            ),
            OpenApiParameter(
                "overdue", str, OpenApiParameter.QUERY, enum=["true", "false"], description="Past hand-over."
            ),
            *PAGE_PARAMETERS,
        ],
        responses={200: CallbackPageSerializer, **_errors(400, 404, missing=PAST_LAST_PAGE)},
        tags=[TAG],
    )
    def get(self, request: Request) -> Response:
        query = _query(CallbackQuerySerializer, request)
        if query.get("overdue") == "true":
            callbacks = callbacks_due(overdue_only=True)
        elif query.get("due") == "true":
            callbacks = callbacks_due()
        else:
            callbacks = callbacks_pending()
        paginator = StandardPagination()
        page = paginator.paginate_queryset(callbacks, request, view=self)
        return paginator.get_paginated_response(rendered(CallbackEntrySerializer, page, many=True))

    @extend_schema(
        operation_id="scoring_callback_schedule",
        summary="Schedule a callback",
        description="Puts a callback for the person in the queue at the promised time. By default anyone "
        "may take it once due; with `agent_only` it is kept for `agent` until the hand-over delay has "
        "passed. Every step of the callback is recorded.",
        request=CallbackInputSerializer,
        responses={201: CallbackEntrySerializer, **_errors(400, 404)},
        tags=[TAG],
    )
    def post(self, request: Request) -> Response:
        payload = CallbackInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        entry = callback_schedule(
            person_id=data["person"],
            queue_type=data["queue_type"],
            scheduled_for=data["scheduled_for"],
            reason=data["reason"],
            agent=data["agent"],
            agent_only=data["agent_only"],
            priority=data["priority"],
        )
        return Response(rendered(CallbackEntrySerializer, entry), status=status.HTTP_201_CREATED)


class CallSessionsApi(APIView):
    queryset = CallSession.objects.none()

    @extend_schema(
        operation_id="scoring_call_session_log",
        summary="Log a call",
        description="Records a call with a person (agent, outcome, duration, notes); the person's call "
        "attempts and last call follow from it. Name the claimed queue entry (`queue_entry`) to close it: "
        "an entry another agent is working is a 409 `entry_not_claimed_by_agent`.",
        request=CallSessionInputSerializer,
        responses={
            201: CallSessionSerializer,
            **_errors(400, 404, missing="No lead, or no such queue entry for that lead."),
            **_errors(409, conflict="The queue entry is claimed by another agent."),
        },
        tags=[TAG],
    )
    def post(self, request: Request) -> Response:
        payload = CallSessionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        session = call_session_log(
            person_id=data["person"],
            agent=data["agent"],
            outcome=data["outcome"],
            duration_seconds=data["duration_seconds"],
            notes=data["notes"],
            started_at=data["started_at"],
            queue_entry_id=data["queue_entry"],
        )
        return Response(rendered(CallSessionSerializer, session), status=status.HTTP_201_CREATED)


class ConversionsApi(APIView):
    queryset = Conversion.objects.none()
    empty_means_absent = ("converted_from", "converted_to", "conversion_type", "agent")

    @extend_schema(
        operation_id="scoring_conversion_list",
        summary="Conversions with totals",
        description="Conversions, newest first, filtered by conversion time (`converted_from` inclusive, "
        "`converted_to` exclusive), type and agent (primary or contributing), paginated; `totals` counts "
        "and sums claim value and commission over every matching conversion, not just this page.",
        parameters=[
            OpenApiParameter(
                "converted_from",
                OpenApiTypes.DATETIME,
                OpenApiParameter.QUERY,
                description="ISO 8601 date-time, inclusive.",
            ),
            OpenApiParameter(
                "converted_to",
                OpenApiTypes.DATETIME,
                OpenApiParameter.QUERY,
                description="ISO 8601 date-time, exclusive.",
            ),
            OpenApiParameter(
                "conversion_type",
                str,
                OpenApiParameter.QUERY,
                enum=list(ConversionType.values),
                description="Only this type of conversion.",
            ),
            OpenApiParameter(
                "agent", str, OpenApiParameter.QUERY, description="An agent's code: primary or contributing."
            ),
            *PAGE_PARAMETERS,
        ],
        responses={200: CallConversionPageSerializer, **_errors(400, 404, missing=PAST_LAST_PAGE)},
        tags=[TAG],
    )
    def get(self, request: Request) -> Response:
        query = _query(ConversionQuerySerializer, request)
        conversions = conversions_filtered(
            converted_from=query.get("converted_from"),
            converted_to=query.get("converted_to"),
            conversion_type=query.get("conversion_type"),
            agent=query.get("agent"),
        )
        paginator = StandardPagination()
        page = paginator.paginate_queryset(conversions, request, view=self)
        response = paginator.get_paginated_response(rendered(CallConversionSerializer, page, many=True))
        response.data["totals"] = rendered(CallConversionTotalsSerializer, conversion_totals(conversions))
        return response

    @extend_schema(
        operation_id="scoring_conversion_record",
        summary="Record a conversion",
        description="Records the person's conversion (signature or requirements met, documents, claim "
        "value, commission, primary and contributing agents) and, in the same transaction, closes their "
        "open queue entries and deactivates their score. A person without a score is a 404 "
        "`score_not_found`; a person already converted is a 409 `already_converted`.",
        request=ConversionInputSerializer,
        responses={
            201: CallConversionSerializer,
            **_errors(
                400,
                404,
                409,
                missing="The lead has no call score (`score_not_found`).",
                conflict="The person is already converted (`already_converted`).",
            ),
        },
        tags=[TAG],
    )
    def post(self, request: Request) -> Response:
        payload = ConversionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        conversion = conversion_record(person_id=data.pop("person"), **data)
        detail = conversions_filtered().get(pk=conversion.pk)
        return Response(rendered(CallConversionSerializer, detail), status=status.HTTP_201_CREATED)
