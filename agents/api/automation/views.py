"""Automation API (mounted at /api/v1/automation/): thin views over agents.automation.selectors (reads)
and agents.automation.services (writes, one transaction each).

Permissions are model permissions (config.api.StrictModelPermissions): reads need `view`, creating needs
`add`, PATCH and the transitions (assign, start, complete, fail, heartbeat, deliver, acknowledge, cancel)
need `change` on the model they act on, named by each view's `queryset`. Errors come out in the one shape
(config.api); a rejected request changes nothing. A body key the request may not set (unknown, or
read-only such as a task's `status`) is a 400 naming it (config.inputs.StrictInput).
"""

from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from agents.api.automation.filters import (
    AutomatedAgentFilter,
    ExecutionFilter,
    FullTextSearchFilter,
    MessageFilter,
    TaskFilter,
    WorkflowFilter,
)
from agents.api.automation.serializers import (
    AutomatedAgentSerializer,
    ExecutionSerializer,
    ExecutionStartSerializer,
    HeartbeatSerializer,
    MessageFailSerializer,
    MessageSendSerializer,
    MessageSerializer,
    TaskAssignSerializer,
    TaskCompleteSerializer,
    TaskFailSerializer,
    TaskSerializer,
    WorkflowSerializer,
)
from agents.automation import selectors, services
from agents.models import AgentMessage, AgentTask, AutomatedAgent, Workflow, WorkflowExecution
from config.api import ApiErrorSerializer, StrictModelPermissions, rendered

TAG = "automation"
UUID_PATTERN = r"[0-9a-fA-F-]{32,36}"


class ChangeModelPermissions(StrictModelPermissions):
    """POST on a transition changes an existing object, so it needs `change` (not `add`)."""

    perms_map = {**StrictModelPermissions.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}


def _errors(*statuses: int, missing: str = "No such object.") -> dict[int, OpenApiResponse]:
    """The automation answers of an endpoint; 401, 403, 413 and 429 are added project-wide (config.openapi)."""
    described = {
        400: "Invalid input; `fields` names each invalid field.",
        404: missing,
        409: "Conflicts with the current state; `code` says how (e.g. task_already_assigned).",
    }
    return {code: OpenApiResponse(ApiErrorSerializer, description=described[code]) for code in statuses}


def _path_id(name: str, what: str) -> OpenApiParameter:
    return OpenApiParameter(name, str, OpenApiParameter.PATH, description=f"The {what}'s id (a UUID).")


FILTERS = [DjangoFilterBackend, OrderingFilter]


class _ListRetrieveViewSet(GenericViewSet):
    """list/retrieve/create/partial_update over a selector, rendering with one shared serializer."""

    lookup_field = "pk"
    lookup_url_kwarg = "id"
    lookup_value_regex = UUID_PATTERN

    def detail_object(self, object_id: str) -> Any:
        raise NotImplementedError

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(rendered(self.serializer_class, page, many=True))

    def retrieve(self, request: Request, id: str) -> Response:
        return Response(rendered(self.serializer_class, self.detail_object(id)))


@extend_schema_view(
    list=extend_schema(
        summary="List automated agents",
        description="Paginated; filter by status, type and capability, `search` the name, order.",
        responses={200: AutomatedAgentSerializer(many=True), **_errors(400)},
        tags=[TAG],
    ),
    retrieve=extend_schema(
        summary="Get an automated agent",
        parameters=[_path_id("id", "agent")],
        responses={200: AutomatedAgentSerializer, **_errors(404, missing="No automated agent with that id.")},
        tags=[TAG],
    ),
    create=extend_schema(
        summary="Create an automated agent",
        description="With its capabilities (name and confidence 0-1).",
        responses={201: AutomatedAgentSerializer, **_errors(400)},
        tags=[TAG],
    ),
    partial_update=extend_schema(
        summary="Update an automated agent",
        description="Omitted fields keep their value; `capabilities`, when given, replaces the set.",
        parameters=[_path_id("id", "agent")],
        responses={
            200: AutomatedAgentSerializer,
            **_errors(400, 404, missing="No automated agent with that id."),
        },
        tags=[TAG],
    ),
)
class AutomatedAgentViewSet(_ListRetrieveViewSet):
    serializer_class = AutomatedAgentSerializer
    filterset_class = AutomatedAgentFilter
    filter_backends = [*FILTERS, SearchFilter]
    search_fields = ["name"]
    ordering_fields = ["name", "status", "agent_type", "last_heartbeat", "created_at"]
    ordering = ["name", "id"]

    def get_queryset(self):
        return selectors.automated_agent_list()

    def detail_object(self, object_id: str) -> AutomatedAgent:
        return selectors.automated_agent_detail(agent_id=object_id)

    def create(self, request: Request) -> Response:
        payload = AutomatedAgentSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        capabilities = data.pop("capability_rows", ())
        agent = services.automated_agent_create(capabilities=capabilities, **data)
        return Response(
            rendered(AutomatedAgentSerializer, self.detail_object(agent.pk)), status=status.HTTP_201_CREATED
        )

    def partial_update(self, request: Request, id: str) -> Response:
        agent = self.detail_object(id)
        payload = AutomatedAgentSerializer(agent, data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        capabilities = data.pop("capability_rows", None)
        services.automated_agent_update(agent_id=agent.pk, capabilities=capabilities, **data)
        return Response(rendered(AutomatedAgentSerializer, self.detail_object(agent.pk)))


@extend_schema(parameters=[_path_id("id", "agent")], tags=[TAG])
class AutomatedAgentHeartbeatApi(GenericAPIView):
    queryset = AutomatedAgent.objects.none()
    permission_classes = [ChangeModelPermissions]
    serializer_class = HeartbeatSerializer
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(
        operation_id="automation_agent_heartbeat",
        summary="An agent reports it is alive",
        description="Stamps last_heartbeat (and sets the status if given). Agents silent for longer than "
        "AUTOMATION_HEARTBEAT_MAX_AGE_SECONDS are marked offline by the periodic sweep.",
        request=HeartbeatSerializer,
        responses={
            200: AutomatedAgentSerializer,
            **_errors(400, 404, missing="No automated agent with that id."),
        },
    )
    def post(self, request: Request, id: str) -> Response:
        payload = HeartbeatSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        agent = selectors.automated_agent_detail(agent_id=id)
        services.automated_agent_heartbeat(agent_id=agent.pk, **payload.validated_data)
        return Response(
            rendered(AutomatedAgentSerializer, selectors.automated_agent_detail(agent_id=agent.pk))
        )


TASK_MISSING = "No task with that id."


@extend_schema_view(
    list=extend_schema(
        summary="List tasks",
        description="Paginated, newest first; filter by status, priority, agent, workflow; `search` is "
        "full-text over title and description.",
        responses={200: TaskSerializer(many=True), **_errors(400)},
        tags=[TAG],
    ),
    retrieve=extend_schema(
        summary="Get a task",
        parameters=[_path_id("id", "task")],
        responses={200: TaskSerializer, **_errors(404, missing=TASK_MISSING)},
        tags=[TAG],
    ),
    create=extend_schema(
        summary="Create a task",
        description="A pending, unassigned task; assign it next.",
        responses={201: TaskSerializer, **_errors(400)},
        tags=[TAG],
    ),
)
class TaskViewSet(_ListRetrieveViewSet):
    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    filter_backends = [*FILTERS, FullTextSearchFilter]
    ordering_fields = ["created_at", "priority", "status", "deadline", "title"]
    ordering = ["-created_at", "id"]

    def get_queryset(self):
        return selectors.task_list()

    def detail_object(self, object_id: str) -> AgentTask:
        return selectors.task_detail(task_id=object_id)

    def create(self, request: Request) -> Response:
        payload = TaskSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        task = services.task_create(**payload.validated_data)
        return Response(rendered(TaskSerializer, self.detail_object(task.pk)), status=status.HTTP_201_CREATED)


class _TaskTransitionApi(GenericAPIView):
    queryset = AgentTask.objects.none()
    permission_classes = [ChangeModelPermissions]
    pagination_class = None
    filter_backends: list[Any] = []

    def answer(self, task: AgentTask) -> Response:
        return Response(rendered(TaskSerializer, selectors.task_detail(task_id=task.pk)))


@extend_schema(parameters=[_path_id("id", "task")], tags=[TAG])
class TaskAssignApi(_TaskTransitionApi):
    serializer_class = TaskAssignSerializer

    @extend_schema(
        operation_id="automation_task_assign",
        summary="Assign a task",
        description="To the agent given, or to the best eligible one: an idle or active agent holding every "
        "capability the task asks, fewest open tasks first, then highest confidence. Atomic: a task goes "
        "to one agent only (409 task_already_assigned for the loser of a race).",
        request=TaskAssignSerializer,
        responses={200: TaskSerializer, **_errors(400, 404, 409, missing=TASK_MISSING)},
    )
    def post(self, request: Request, id: str) -> Response:
        payload = TaskAssignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        agent = payload.validated_data.get("agent")
        task = selectors.task_detail(task_id=id)
        return self.answer(services.task_assign(task_id=task.pk, agent_id=agent.pk if agent else None))


@extend_schema(parameters=[_path_id("id", "task")], tags=[TAG])
class TaskStartApi(_TaskTransitionApi):
    serializer_class = None

    @extend_schema(
        operation_id="automation_task_start",
        summary="Start a task",
        description="The assigned agent starts it: pending -> in_progress.",
        request=None,
        responses={200: TaskSerializer, **_errors(404, 409, missing=TASK_MISSING)},
    )
    def post(self, request: Request, id: str) -> Response:
        task = selectors.task_detail(task_id=id)
        return self.answer(services.task_start(task_id=task.pk))


@extend_schema(parameters=[_path_id("id", "task")], tags=[TAG])
class TaskCompleteApi(_TaskTransitionApi):
    serializer_class = TaskCompleteSerializer

    @extend_schema(
        operation_id="automation_task_complete",
        summary="Complete a task",
        description="in_progress -> completed with its result. A workflow step's task moves its execution "
        "to the next step (creating that step's task) or completes it.",
        request=TaskCompleteSerializer,
        responses={200: TaskSerializer, **_errors(400, 404, 409, missing=TASK_MISSING)},
    )
    def post(self, request: Request, id: str) -> Response:
        payload = TaskCompleteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        task = selectors.task_detail(task_id=id)
        return self.answer(services.task_complete(task_id=task.pk, **payload.validated_data))


@extend_schema(parameters=[_path_id("id", "task")], tags=[TAG])
class TaskFailApi(_TaskTransitionApi):
    serializer_class = TaskFailSerializer

    @extend_schema(
        operation_id="automation_task_fail",
        summary="Fail a task",
        description="A pending or in-progress task failed; a workflow step's failure fails its execution, "
        "which records the error.",
        request=TaskFailSerializer,
        responses={200: TaskSerializer, **_errors(400, 404, 409, missing=TASK_MISSING)},
    )
    def post(self, request: Request, id: str) -> Response:
        payload = TaskFailSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        task = selectors.task_detail(task_id=id)
        return self.answer(services.task_fail(task_id=task.pk, **payload.validated_data))


WORKFLOW_MISSING = "No workflow with that id."


@extend_schema_view(
    list=extend_schema(
        summary="List workflows",
        description="Paginated; filter by status and author; `search` is full-text over name and "
        "description.",
        responses={200: WorkflowSerializer(many=True), **_errors(400)},
        tags=[TAG],
    ),
    retrieve=extend_schema(
        summary="Get a workflow",
        parameters=[_path_id("id", "workflow")],
        responses={200: WorkflowSerializer, **_errors(404, missing=WORKFLOW_MISSING)},
        tags=[TAG],
    ),
    create=extend_schema(
        summary="Create a workflow",
        description="The definition is checked against the step schema; every problem is listed under "
        "`fields.definition` with its path (e.g. `steps[1].title: required.`).",
        responses={201: WorkflowSerializer, **_errors(400)},
        tags=[TAG],
    ),
    partial_update=extend_schema(
        summary="Update a workflow",
        description="A changed definition makes a new version; running executions keep their steps.",
        parameters=[_path_id("id", "workflow")],
        responses={200: WorkflowSerializer, **_errors(400, 404, missing=WORKFLOW_MISSING)},
        tags=[TAG],
    ),
)
class WorkflowViewSet(_ListRetrieveViewSet):
    serializer_class = WorkflowSerializer
    filterset_class = WorkflowFilter
    filter_backends = [*FILTERS, FullTextSearchFilter]
    ordering_fields = ["name", "status", "created_at", "updated_at"]
    ordering = ["name", "id"]

    def get_queryset(self):
        return selectors.workflow_list()

    def detail_object(self, object_id: str) -> Workflow:
        return selectors.workflow_detail(workflow_id=object_id)

    def create(self, request: Request) -> Response:
        payload = WorkflowSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        workflow = services.workflow_create(**payload.validated_data)
        return Response(
            rendered(WorkflowSerializer, self.detail_object(workflow.pk)), status=status.HTTP_201_CREATED
        )

    def partial_update(self, request: Request, id: str) -> Response:
        workflow = self.detail_object(id)
        payload = WorkflowSerializer(workflow, data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        changes = {key: value for key, value in payload.validated_data.items() if key != "created_by"}
        services.workflow_update(workflow_id=workflow.pk, **changes)
        return Response(rendered(WorkflowSerializer, self.detail_object(workflow.pk)))


@extend_schema(parameters=[_path_id("id", "workflow")], tags=[TAG])
class WorkflowExecutionStartApi(GenericAPIView):
    queryset = WorkflowExecution.objects.none()  # starting one adds an execution
    serializer_class = ExecutionStartSerializer
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(
        operation_id="automation_workflow_start",
        summary="Start an execution of a workflow",
        description="Only an active workflow starts (409 workflow_not_active). The execution freezes the "
        "current definition and creates the first step's task.",
        request=ExecutionStartSerializer,
        responses={201: ExecutionSerializer, **_errors(400, 404, 409, missing=WORKFLOW_MISSING)},
    )
    def post(self, request: Request, id: str) -> Response:
        payload = ExecutionStartSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        workflow = selectors.workflow_detail(workflow_id=id)
        execution = services.workflow_execution_start(workflow_id=workflow.pk, **payload.validated_data)
        return Response(
            rendered(ExecutionSerializer, selectors.execution_detail(execution_id=execution.pk)),
            status=status.HTTP_201_CREATED,
        )


EXECUTION_MISSING = "No workflow execution with that id."


@extend_schema_view(
    list=extend_schema(
        summary="List workflow executions",
        description="Paginated, newest first, each with its step tasks; filter by status and workflow.",
        responses={200: ExecutionSerializer(many=True), **_errors(400)},
        tags=[TAG],
    ),
    retrieve=extend_schema(
        summary="Get a workflow execution",
        parameters=[_path_id("id", "execution")],
        responses={200: ExecutionSerializer, **_errors(404, missing=EXECUTION_MISSING)},
        tags=[TAG],
    ),
)
class ExecutionViewSet(_ListRetrieveViewSet):
    serializer_class = ExecutionSerializer
    filterset_class = ExecutionFilter
    filter_backends = FILTERS
    ordering_fields = ["started_at", "status"]
    ordering = ["-started_at", "id"]

    def get_queryset(self):
        return selectors.execution_list()

    def detail_object(self, object_id: str) -> WorkflowExecution:
        return selectors.execution_detail(execution_id=object_id)


@extend_schema(parameters=[_path_id("id", "execution")], tags=[TAG])
class ExecutionCancelApi(GenericAPIView):
    queryset = WorkflowExecution.objects.none()
    permission_classes = [ChangeModelPermissions]
    serializer_class = None
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(
        operation_id="automation_execution_cancel",
        summary="Cancel a running execution",
        description="Cancels it and its open step task.",
        request=None,
        responses={200: ExecutionSerializer, **_errors(404, 409, missing=EXECUTION_MISSING)},
    )
    def post(self, request: Request, id: str) -> Response:
        execution = selectors.execution_detail(execution_id=id)
        services.workflow_execution_cancel(execution_id=execution.pk)
        return Response(rendered(ExecutionSerializer, selectors.execution_detail(execution_id=execution.pk)))


MESSAGE_MISSING = "No message with that message_id."


def _message_id() -> OpenApiParameter:
    return OpenApiParameter(
        "message_id", str, OpenApiParameter.PATH, description="The message's message_id (a UUID)."
    )


@extend_schema_view(
    list=extend_schema(
        summary="List messages",
        description="Paginated, newest first; filter by status, priority, sender, recipient, type, "
        "correlation and conversation; `search` the subject.",
        responses={200: MessageSerializer(many=True), **_errors(400)},
        tags=[TAG],
    ),
    retrieve=extend_schema(
        summary="Get a message",
        parameters=[_message_id()],
        responses={200: MessageSerializer, **_errors(404, missing=MESSAGE_MISSING)},
        tags=[TAG],
    ),
    create=extend_schema(
        summary="Send a message",
        description="Stored `sent` (in the recipient's inbox), or `pending` when the recipient is offline "
        "(sent again by the sweep once it is back). Sender and recipient types are the agents' types.",
        request=MessageSendSerializer,
        responses={201: MessageSerializer, **_errors(400)},
        tags=[TAG],
    ),
)
class MessageViewSet(_ListRetrieveViewSet):
    serializer_class = MessageSerializer
    filterset_class = MessageFilter
    filter_backends = [*FILTERS, SearchFilter]
    search_fields = ["subject"]
    ordering_fields = ["created_at", "priority", "status", "expires_at"]
    ordering = ["-created_at", "id"]
    lookup_field = "message_id"
    lookup_url_kwarg = "message_id"

    def get_queryset(self):
        return selectors.message_list()

    def detail_object(self, object_id: str) -> AgentMessage:
        return selectors.message_detail(message_id=object_id)

    def retrieve(self, request: Request, message_id: str) -> Response:  # type: ignore[override]
        return Response(rendered(MessageSerializer, self.detail_object(message_id)))

    def create(self, request: Request) -> Response:
        payload = MessageSendSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        message = services.message_send(**payload.validated_data)
        return Response(rendered(MessageSerializer, self.detail_object(message.message_id)), status=201)


class _MessageTransitionApi(GenericAPIView):
    queryset = AgentMessage.objects.none()
    permission_classes = [ChangeModelPermissions]
    pagination_class = None
    filter_backends: list[Any] = []

    def answer(self, message: AgentMessage) -> Response:
        return Response(rendered(MessageSerializer, selectors.message_detail(message_id=message.message_id)))


@extend_schema(parameters=[_message_id()], tags=[TAG])
class MessageDeliverApi(_MessageTransitionApi):
    serializer_class = None

    @extend_schema(
        operation_id="automation_message_deliver",
        summary="Mark a message delivered",
        description="The recipient has it: pending or sent -> delivered. 409 message_expired past expires_at.",
        request=None,
        responses={200: MessageSerializer, **_errors(404, 409, missing=MESSAGE_MISSING)},
    )
    def post(self, request: Request, message_id: str) -> Response:
        return self.answer(
            services.message_deliver(message_id=selectors.message_detail(message_id=message_id).message_id)
        )


@extend_schema(parameters=[_message_id()], tags=[TAG])
class MessageAcknowledgeApi(_MessageTransitionApi):
    serializer_class = None

    @extend_schema(
        operation_id="automation_message_acknowledge",
        summary="Acknowledge a message",
        description="The recipient processed it: any open status -> acknowledged (delivered_at is stamped "
        "too if it was not). 409 message_expired past expires_at.",
        request=None,
        responses={200: MessageSerializer, **_errors(404, 409, missing=MESSAGE_MISSING)},
    )
    def post(self, request: Request, message_id: str) -> Response:
        return self.answer(
            services.message_acknowledge(
                message_id=selectors.message_detail(message_id=message_id).message_id
            )
        )


@extend_schema(parameters=[_message_id()], tags=[TAG])
class MessageFailApi(_MessageTransitionApi):
    serializer_class = MessageFailSerializer

    @extend_schema(
        operation_id="automation_message_fail",
        summary="Report a failed delivery attempt",
        description="Counts a retry and makes the message pending again after an exponential backoff "
        "(next_attempt_at), or failed once max_retries retries are spent.",
        request=MessageFailSerializer,
        responses={200: MessageSerializer, **_errors(400, 404, 409, missing=MESSAGE_MISSING)},
    )
    def post(self, request: Request, message_id: str) -> Response:
        payload = MessageFailSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        message = selectors.message_detail(message_id=message_id)
        return self.answer(
            services.message_delivery_failed(message_id=message.message_id, **payload.validated_data)
        )
