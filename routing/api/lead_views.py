"""Lead routing API (under /api/v1/routing/): thin views over routing.services (leads, rules, experiments:
one transaction each) and routing.selectors.leads (reads).

Permissions are model permissions (config.api.StrictModelPermissions), named by each view's `queryset`:
reads need `view`, creating needs `add`, PUT/PATCH `change`, DELETE `delete`; the transitions (route, an
outcome, start/pause/complete an experiment) change the object they act on, so POST there needs `change`.
Testing a rule against a lead writes nothing, so it needs only `view` on rules. Errors come out in the one
shape (config.api); a rejected request changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from config.api import ApiErrorSerializer, StrictModelPermissions, rendered
from config.filters import StrictOrderingFilter
from routing.api.lead_filters import LeadFilter, RoutingExperimentFilter, RoutingRuleFilter
from routing.api.serializers.leads import (
    AssignmentQueueEntrySerializer,
    ExperimentResultsSerializer,
    LeadAssignedOutcomeSerializer,
    LeadOutcomeInputSerializer,
    LeadQueuedOutcomeSerializer,
    LeadRoutingHistorySerializer,
    LeadSerializer,
    RoutingExperimentSerializer,
    RoutingRuleSerializer,
    RuleTestInputSerializer,
    RuleTestResultSerializer,
    experiment_results_as_dict,
)
from routing.api.serializers.outputs import RoutingEventSerializer
from routing.api.views import ChangeModelPermissions
from routing.engine.lead_rules import RuleSpec, evaluate_rules
from routing.errors import ExperimentNotFound, LeadNotFound, RuleNotFound
from routing.models import (
    AssignmentQueue,
    Lead,
    LeadRoutingHistory,
    QueueType,
    RoutingEvent,
    RoutingExperiment,
    RoutingRule,
)
from routing.selectors.leads import (
    experiment_detail,
    experiment_list,
    lead_detail,
    lead_events,
    lead_list,
    lead_queue_position,
    lead_queue_serving_order,
    lead_routing_history,
    rule_list,
)
from routing.services import experiments as experiment_services
from routing.services import rules as rule_services
from routing.services.leads import lead_create, lead_record_outcome, lead_route, rule_facts

TAG = "lead routing"


class ViewOnPostPermissions(StrictModelPermissions):
    """POST on this endpoint only reads (a dry run), so it needs `view`."""

    perms_map = {**StrictModelPermissions.perms_map, "POST": ["%(app_label)s.view_%(model_name)s"]}


MISSING = {
    "lead": "No lead with that id.",
    "rule": "No routing rule with that id.",
    "experiment": "No experiment with that id.",
}


def _errors(*statuses: int, missing: str = "lead", conflict: str = "") -> dict[int, OpenApiResponse]:
    """The answers of an endpoint besides its body; 401, 403, 413, 415 and 429 are added project-wide."""
    described = {
        400: "Invalid input; `fields` names each invalid field.",
        404: MISSING[missing],
        409: conflict or "Conflicts with the current state; `code` says how.",
    }
    return {code: OpenApiResponse(ApiErrorSerializer, description=described[code]) for code in statuses}


def _path_id(what: str) -> OpenApiParameter:
    return OpenApiParameter("id", str, OpenApiParameter.PATH, description=f"The {what}'s id (a UUID).")


def _lead_or_404(lead_id: Any) -> Lead:
    lead = lead_detail(lead_id=lead_id)
    if lead is None:
        raise LeadNotFound(lead_id=lead_id)
    return lead


def _experiment_or_404(experiment_id: Any) -> RoutingExperiment:
    experiment = experiment_detail(experiment_id=experiment_id)
    if experiment is None:
        raise ExperimentNotFound(experiment_id=experiment_id)
    return experiment


class _UuidViewSet(GenericViewSet):
    lookup_field = "pk"
    lookup_url_kwarg = "id"

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(rendered(self.serializer_class, page, many=True))


# --- leads ------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        operation_id="routing_lead_list",
        summary="List leads",
        description="Newest first (or `ordering`), paginated; filter by status, tier, insurance line and "
        "customer segment. An unknown status or tier is a 400 naming the parameter.",
        responses={200: LeadSerializer(many=True)},
        tags=[TAG],
    ),
    create=extend_schema(
        operation_id="routing_lead_create",
        summary="Create and score a lead",
        description="Stores the lead and scores it (0-100, with the per-factor breakdown and its tier). "
        "It is not routed yet: call `route`. An external id already used is a 409 `unique`.",
        request=LeadSerializer,
        responses={201: LeadSerializer, **_errors(400, 409, conflict="A lead with this external id exists.")},
        tags=[TAG],
    ),
    retrieve=extend_schema(
        operation_id="routing_lead_detail",
        summary="A lead with its score, tier, breakdown, status and agent",
        parameters=[_path_id("lead")],
        responses={200: LeadSerializer, **_errors(404)},
        tags=[TAG],
    ),
)
class LeadViewSet(_UuidViewSet):
    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    ordering_fields = ["created_at", "score"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return lead_list()

    def create(self, request: Request) -> Response:
        payload = LeadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        lead = lead_create(**payload.validated_data)
        return Response(rendered(LeadSerializer, _lead_or_404(lead.pk)), status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, id: str) -> Response:
        return Response(rendered(LeadSerializer, _lead_or_404(id)))


class LeadRouteApi(APIView):
    queryset = Lead.objects.none()
    permission_classes = [ChangeModelPermissions]

    @extend_schema(
        operation_id="routing_lead_route",
        summary="Route a lead",
        description="Scores the lead again (recency moves the score), runs the active rules in priority "
        "order, draws the running experiment's variant (sticky per lead), then gives the lead to the best "
        "eligible agent with room (200: the agent, the decision with every candidate's factor scores) or, "
        "when nobody can take it, puts it in its queue type (202: queue type, position, SLA expiry). Only "
        "a new or queued lead can be routed (409 `lead_not_routable`).",
        request=None,
        parameters=[_path_id("lead")],
        responses={
            200: OpenApiResponse(LeadAssignedOutcomeSerializer, description="Assigned to an agent."),
            202: OpenApiResponse(LeadQueuedOutcomeSerializer, description="Queued: nobody can take it now."),
            **_errors(404, 409, conflict="The lead is already assigned or closed (`lead_not_routable`)."),
        },
        tags=[TAG],
    )
    def post(self, request: Request, id: str) -> Response:
        now = timezone.now()
        outcome = lead_route(lead_id=id, now=now)
        if outcome.assigned:
            body = rendered(LeadAssignedOutcomeSerializer, outcome)
        else:
            outcome.queue_entry.position = lead_queue_position(entry=outcome.queue_entry)
            body = LeadQueuedOutcomeSerializer(outcome, context={"now": now}).data
        return Response(body, status=outcome.http_status)


class LeadOutcomeApi(APIView):
    queryset = Lead.objects.none()
    permission_classes = [ChangeModelPermissions]

    @extend_schema(
        operation_id="routing_lead_outcome",
        summary="Record that the lead was contacted, converted or lost",
        description="`contacted` needs an assigned lead; `converted` and `lost` an assigned or contacted "
        "one, and free the agent's slot for the waiting leads and cases. Any other order is a 409 "
        "`invalid_transition`.",
        request=LeadOutcomeInputSerializer,
        parameters=[_path_id("lead")],
        responses={
            200: LeadSerializer,
            **_errors(400, 404, 409, conflict="Not allowed from the lead's status."),
        },
        tags=[TAG],
    )
    def post(self, request: Request, id: str) -> Response:
        payload = LeadOutcomeInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        lead = lead_record_outcome(lead_id=id, **payload.validated_data)
        return Response(rendered(LeadSerializer, _lead_or_404(lead.pk)))


class LeadEventsApi(generics.ListAPIView):
    queryset = RoutingEvent.objects.none()
    serializer_class = RoutingEventSerializer
    filter_backends: list = []

    @extend_schema(
        operation_id="routing_lead_events",
        summary="The lead's audit trail",
        description="Every routing event of the lead, newest first: scored, rule fired, experiment "
        "assigned, queued, routed, SLA breached, reassigned, contacted, converted, lost.",
        parameters=[_path_id("lead")],
        responses={200: RoutingEventSerializer(many=True), **_errors(404)},
        tags=[TAG],
    )
    def get(self, request: Request, id: str) -> Response:
        _lead_or_404(id)
        page = self.paginate_queryset(lead_events(lead_id=id))
        return self.get_paginated_response(rendered(RoutingEventSerializer, page, many=True))


class LeadRoutingHistoryApi(generics.ListAPIView):
    queryset = LeadRoutingHistory.objects.none()
    serializer_class = LeadRoutingHistorySerializer
    filter_backends: list = []

    @extend_schema(
        operation_id="routing_lead_history",
        summary="The lead's routing history",
        description="Each time the lead was given to an agent, newest first: strategy, score then, the "
        "reasons (rules, experiment variant), every candidate's factor scores and the outcome.",
        parameters=[_path_id("lead")],
        responses={200: LeadRoutingHistorySerializer(many=True), **_errors(404)},
        tags=[TAG],
    )
    def get(self, request: Request, id: str) -> Response:
        _lead_or_404(id)
        page = self.paginate_queryset(lead_routing_history(lead_id=id))
        return self.get_paginated_response(rendered(LeadRoutingHistorySerializer, page, many=True))


class QueueTypeQuerySerializer(serializers.Serializer):
    queue_type = serializers.ChoiceField(choices=QueueType.choices, required=False, default=QueueType.HOT)


class AssignmentQueueApi(generics.ListAPIView):
    """Waiting leads of one queue type in serving order. Positions are page offset + index."""

    queryset = AssignmentQueue.objects.none()
    serializer_class = AssignmentQueueEntrySerializer
    filter_backends: list = []  # the serving order is the point; reordering would falsify positions
    empty_means_absent = ("queue_type",)  # `?queue_type=` is the default queue (config.openapi)

    @extend_schema(
        operation_id="routing_assignment_queue",
        summary="An assignment queue in serving order",
        description="The leads waiting in one queue type, in the order they will be served (higher score "
        "first, then older; the hot queue may be configured last-in-first-out), each with its position, "
        "SLA expiry and whether the SLA is breached.",
        parameters=[
            OpenApiParameter(
                "queue_type",
                str,
                OpenApiParameter.QUERY,
                enum=list(QueueType.values),
                description="The queue type (default hot; empty means the default). An unknown one is a 400 naming it.",
            )
        ],
        responses={200: AssignmentQueueEntrySerializer(many=True)},
        tags=[TAG],
    )
    def get(self, request: Request) -> Response:
        query = QueueTypeQuerySerializer(data={"queue_type": request.query_params.get("queue_type") or "hot"})
        query.is_valid(raise_exception=True)
        now = timezone.now()
        page = self.paginate_queryset(
            lead_queue_serving_order(queue_type=query.validated_data["queue_type"], now=now)
        )
        first = self.paginator.page.start_index() if page else 1
        for offset, entry in enumerate(page or []):
            entry.position = first + offset
        serializer = AssignmentQueueEntrySerializer(page, many=True, context={"now": now})
        return self.get_paginated_response(serializer.data)


# --- rules ------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        operation_id="routing_rule_list",
        summary="List routing rules",
        description="In the order they run: higher priority first, then by name. Filter by type and "
        "whether active.",
        responses={200: RoutingRuleSerializer(many=True)},
        tags=[TAG],
    ),
    create=extend_schema(
        operation_id="routing_rule_create",
        summary="Create a routing rule",
        description="The condition and the action are checked against the rule type; a bad part is a 400 "
        "naming `condition` or `action` with its path. A name already used is a 409 `unique`.",
        responses={201: RoutingRuleSerializer, **_errors(400, 409, conflict="The name is taken.")},
        tags=[TAG],
    ),
    retrieve=extend_schema(
        operation_id="routing_rule_detail",
        summary="A routing rule",
        parameters=[_path_id("rule")],
        responses={200: RoutingRuleSerializer, **_errors(404, missing="rule")},
        tags=[TAG],
    ),
    update=extend_schema(
        operation_id="routing_rule_replace",
        summary="Replace a routing rule",
        parameters=[_path_id("rule")],
        responses={200: RoutingRuleSerializer, **_errors(400, 404, 409, missing="rule")},
        tags=[TAG],
    ),
    partial_update=extend_schema(
        operation_id="routing_rule_update",
        summary="Change some fields of a routing rule",
        description="Omitted fields keep their value; the rule as a whole must still be valid.",
        parameters=[_path_id("rule")],
        responses={200: RoutingRuleSerializer, **_errors(400, 404, 409, missing="rule")},
        tags=[TAG],
    ),
    destroy=extend_schema(
        operation_id="routing_rule_delete",
        summary="Delete a routing rule",
        description="Routings it already influenced keep their record. To stop it for now, set "
        "`is_active` to false instead.",
        parameters=[_path_id("rule")],
        responses={204: None, **_errors(404, missing="rule")},
        tags=[TAG],
    ),
)
class RoutingRuleViewSet(_UuidViewSet):
    serializer_class = RoutingRuleSerializer
    filterset_class = RoutingRuleFilter
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self):
        return rule_list()

    def get_object(self) -> RoutingRule:
        rule = rule_list().filter(pk=self.kwargs["id"]).first()
        if rule is None:
            raise RuleNotFound(rule_id=self.kwargs["id"])
        self.check_object_permissions(self.request, rule)
        return rule

    def create(self, request: Request) -> Response:
        payload = RoutingRuleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        rule = rule_services.rule_create(**payload.validated_data)
        return Response(rendered(RoutingRuleSerializer, rule), status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, id: str) -> Response:
        return Response(rendered(RoutingRuleSerializer, self.get_object()))

    def _save(self, request: Request, *, partial: bool) -> Response:
        rule = self.get_object()
        payload = RoutingRuleSerializer(rule, data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        rule = rule_services.rule_update(rule_id=rule.pk, **payload.validated_data)
        return Response(rendered(RoutingRuleSerializer, rule))

    def update(self, request: Request, id: str) -> Response:
        return self._save(request, partial=False)

    def partial_update(self, request: Request, id: str) -> Response:
        return self._save(request, partial=True)

    def destroy(self, request: Request, id: str) -> Response:
        rule_services.rule_delete(rule_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RuleTestApi(APIView):
    queryset = RoutingRule.objects.none()
    permission_classes = [ViewOnPostPermissions]

    @extend_schema(
        operation_id="routing_rule_test",
        summary="Test a rule against a lead",
        description="Whether the rule's condition holds for the lead now, and what it would do, as if it "
        "were the only active rule. Nothing is written and the rule need not be active.",
        request=RuleTestInputSerializer,
        parameters=[_path_id("rule")],
        responses={200: RuleTestResultSerializer, **_errors(400, 404, missing="rule")},
        tags=[TAG],
    )
    def post(self, request: Request, id: str) -> Response:
        payload = RuleTestInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        rule = rule_list().filter(pk=id).first()
        if rule is None:
            raise RuleNotFound(rule_id=id)
        lead = _lead_or_404(payload.validated_data["lead_id"])
        facts = rule_facts(lead, now=timezone.now())
        spec = RuleSpec(
            rule_id=str(rule.pk),
            name=rule.name,
            rule_type=rule.rule_type,
            condition=rule.condition,
            action=rule.action,
            priority=rule.priority,
        )
        outcome = evaluate_rules([spec], facts)
        fired = outcome.fired
        body = {
            "invalid_reason": outcome.skipped[0]["reason"] if outcome.skipped else None,
            "rule_id": rule.pk,
            "lead_id": lead.pk,
            "matches": bool(fired),
            "fired": fired[0] if fired else None,
            "facts": facts,
        }
        return Response(rendered(RuleTestResultSerializer, body))


# --- experiments --------------------------------------------------------------------------------------------

FROZEN = (
    "The experiment is running, paused, completed or has assigned leads, and the change would reshuffle "
    "or re-treat them (`experiment_conflict`)."
)


@extend_schema_view(
    list=extend_schema(
        operation_id="routing_experiment_list",
        summary="List experiments",
        description="Newest first, with their variants; filter by status.",
        responses={200: RoutingExperimentSerializer(many=True)},
        tags=[TAG],
    ),
    create=extend_schema(
        operation_id="routing_experiment_create",
        summary="Create an experiment (a draft)",
        description="With its variants: allocations total 100 % and exactly one is the control (else a "
        "400 `invalid_experiment` naming `variants`). It routes no lead until started.",
        responses={201: RoutingExperimentSerializer, **_errors(400, 409, conflict="The name is taken.")},
        tags=[TAG],
    ),
    retrieve=extend_schema(
        operation_id="routing_experiment_detail",
        summary="An experiment with its variants",
        parameters=[_path_id("experiment")],
        responses={200: RoutingExperimentSerializer, **_errors(404, missing="experiment")},
        tags=[TAG],
    ),
    update=extend_schema(
        operation_id="routing_experiment_replace",
        summary="Replace an experiment and its variants",
        parameters=[_path_id("experiment")],
        responses={
            200: RoutingExperimentSerializer,
            **_errors(400, 404, 409, missing="experiment", conflict=FROZEN),
        },
        tags=[TAG],
    ),
    partial_update=extend_schema(
        operation_id="routing_experiment_update",
        summary="Change some fields of an experiment",
        description="Omitted fields keep their value; `variants`, when given, replaces the set. Name, "
        "description and guardrails may change at any time before completion; variants only while no "
        "lead has been assigned.",
        parameters=[_path_id("experiment")],
        responses={
            200: RoutingExperimentSerializer,
            **_errors(400, 404, 409, missing="experiment", conflict=FROZEN),
        },
        tags=[TAG],
    ),
    destroy=extend_schema(
        operation_id="routing_experiment_delete",
        summary="Delete a draft experiment",
        description="Only a draft no lead was assigned in; one that ran is completed instead (409).",
        parameters=[_path_id("experiment")],
        responses={204: None, **_errors(404, 409, missing="experiment", conflict="Not a draft.")},
        tags=[TAG],
    ),
)
class RoutingExperimentViewSet(_UuidViewSet):
    serializer_class = RoutingExperimentSerializer
    filterset_class = RoutingExperimentFilter
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self):
        return experiment_list()

    def get_object(self) -> RoutingExperiment:
        experiment = _experiment_or_404(self.kwargs["id"])
        self.check_object_permissions(self.request, experiment)
        return experiment

    def create(self, request: Request) -> Response:
        payload = RoutingExperimentSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        variants = [dict(variant) for variant in data.pop("variants")]
        experiment = experiment_services.experiment_create(variants=variants, **data)
        body = rendered(RoutingExperimentSerializer, _experiment_or_404(experiment.pk))
        return Response(body, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, id: str) -> Response:
        return Response(rendered(RoutingExperimentSerializer, self.get_object()))

    def _save(self, request: Request, *, partial: bool) -> Response:
        experiment = self.get_object()
        payload = RoutingExperimentSerializer(experiment, data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        variants = data.pop("variants", None)
        experiment_services.experiment_update(
            experiment_id=experiment.pk,
            variants=None if variants is None else [dict(variant) for variant in variants],
            **data,
        )
        return Response(rendered(RoutingExperimentSerializer, _experiment_or_404(experiment.pk)))

    def update(self, request: Request, id: str) -> Response:
        return self._save(request, partial=False)

    def partial_update(self, request: Request, id: str) -> Response:
        return self._save(request, partial=True)

    def destroy(self, request: Request, id: str) -> Response:
        experiment_services.experiment_delete(experiment_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _transition(action: str, summary: str, description: str) -> type[APIView]:
    service = getattr(experiment_services, f"experiment_{action}")

    class ExperimentTransitionApi(APIView):
        queryset = RoutingExperiment.objects.none()
        permission_classes = [ChangeModelPermissions]

        @extend_schema(
            operation_id=f"routing_experiment_{action}",
            summary=summary,
            description=description,
            request=None,
            parameters=[_path_id("experiment")],
            responses={
                200: RoutingExperimentSerializer,
                **_errors(400, 404, 409, missing="experiment", conflict="Not allowed from its status."),
            },
            tags=[TAG],
        )
        def post(self, request: Request, id: str) -> Response:
            experiment = service(experiment_id=id)
            return Response(rendered(RoutingExperimentSerializer, _experiment_or_404(experiment.pk)))

    ExperimentTransitionApi.__name__ = ExperimentTransitionApi.__qualname__ = f"Experiment{action.title()}Api"
    return ExperimentTransitionApi


ExperimentStartApi = _transition(
    "start",
    "Start or resume an experiment",
    "A draft or paused experiment starts routing leads: each new lead draws a variant (sticky per lead). "
    "One experiment runs at a time (409 `experiment_conflict` while another runs); invalid variants are "
    "a 400 `invalid_experiment`.",
)
ExperimentPauseApi = _transition(
    "pause",
    "Pause a running experiment",
    "New leads are routed with the default strategy until it is resumed; assigned leads keep their variant.",
)
ExperimentCompleteApi = _transition(
    "complete",
    "Complete an experiment",
    "A running or paused experiment ends; its results stay readable and it changes no more.",
)


class ExperimentResultsApi(APIView):
    queryset = RoutingExperiment.objects.none()

    @extend_schema(
        operation_id="routing_experiment_results",
        summary="An experiment's results",
        description="Per variant: units (leads assigned), conversions, conversion rate with its 95 % "
        "interval, and against the control the absolute and relative lift with 95 % intervals and the "
        "two-proportion z-test p-value; the guardrails (SLA breach rate, time to first contact) beside. "
        "`sample_ratio_mismatch.mismatch` flags a split that differs from the allocation (chi-square, "
        "p < 0.001, judged once every variant has 8 units): then the results are not to be trusted.",
        parameters=[_path_id("experiment")],
        responses={200: ExperimentResultsSerializer, **_errors(404, missing="experiment")},
        tags=[TAG],
    )
    def get(self, request: Request, id: str) -> Response:
        experiment = _experiment_or_404(id)
        results = experiment_services.experiment_results_for(experiment)
        return Response(
            rendered(ExperimentResultsSerializer, experiment_results_as_dict(experiment, results))
        )
