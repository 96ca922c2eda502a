"""Automation API, mounted at /api/v1/automation/ by config.urls.

Ids are UUIDs (`<uuid:...>`): a path that cannot name an object is not routed at all (JSON 404).
"""

from django.urls import path

from agents.api.automation import views
from config.views import ApiIndexView

app_name = "automation-api"

LIST = {"get": "list", "post": "create"}
DETAIL = {"get": "retrieve", "patch": "partial_update"}

urlpatterns = [
    path(
        "",
        ApiIndexView.as_view(
            name="Automated agents",
            links=(
                ("agents", "automation-api:agent-list"),
                ("tasks", "automation-api:task-list"),
                ("workflows", "automation-api:workflow-list"),
                ("executions", "automation-api:execution-list"),
                ("messages", "automation-api:message-list"),
            ),
        ),
        name="index",
    ),
    path("agents/", views.AutomatedAgentViewSet.as_view(LIST), name="agent-list"),
    path("agents/<uuid:id>/", views.AutomatedAgentViewSet.as_view(DETAIL), name="agent-detail"),
    path("agents/<uuid:id>/heartbeat/", views.AutomatedAgentHeartbeatApi.as_view(), name="agent-heartbeat"),
    path("tasks/", views.TaskViewSet.as_view(LIST), name="task-list"),
    path("tasks/<uuid:id>/", views.TaskViewSet.as_view({"get": "retrieve"}), name="task-detail"),
    path("tasks/<uuid:id>/assign/", views.TaskAssignApi.as_view(), name="task-assign"),
    path("tasks/<uuid:id>/start/", views.TaskStartApi.as_view(), name="task-start"),
    path("tasks/<uuid:id>/complete/", views.TaskCompleteApi.as_view(), name="task-complete"),
    path("tasks/<uuid:id>/fail/", views.TaskFailApi.as_view(), name="task-fail"),
    path("workflows/", views.WorkflowViewSet.as_view(LIST), name="workflow-list"),
    path("workflows/<uuid:id>/", views.WorkflowViewSet.as_view(DETAIL), name="workflow-detail"),
    path("workflows/<uuid:id>/executions/", views.WorkflowExecutionStartApi.as_view(), name="workflow-start"),
    path("executions/", views.ExecutionViewSet.as_view({"get": "list"}), name="execution-list"),
    path(
        "executions/<uuid:id>/", views.ExecutionViewSet.as_view({"get": "retrieve"}), name="execution-detail"
    ),
    path("executions/<uuid:id>/cancel/", views.ExecutionCancelApi.as_view(), name="execution-cancel"),
    path("messages/", views.MessageViewSet.as_view(LIST), name="message-list"),
    path(
        "messages/<uuid:message_id>/",
        views.MessageViewSet.as_view({"get": "retrieve"}),
        name="message-detail",
    ),
    path("messages/<uuid:message_id>/deliver/", views.MessageDeliverApi.as_view(), name="message-deliver"),
    path(
        "messages/<uuid:message_id>/acknowledge/",
        views.MessageAcknowledgeApi.as_view(),
        name="message-acknowledge",
    ),
    path("messages/<uuid:message_id>/fail/", views.MessageFailApi.as_view(), name="message-fail"),
]
