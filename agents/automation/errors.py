"""Domain errors of the automated agents, tasks, workflows and messages (codes are part of the API)."""

from __future__ import annotations

from config.errors import ConflictError, DomainError, NotFoundError


class AutomatedAgentNotFound(NotFoundError):
    default_detail = "No automated agent {agent_id}."


class TaskNotFound(NotFoundError):
    default_detail = "No task {task_id}."


class WorkflowNotFound(NotFoundError):
    default_detail = "No workflow {workflow_id}."


class ExecutionNotFound(NotFoundError):
    default_detail = "No workflow execution {execution_id}."


class MessageNotFound(NotFoundError):
    default_detail = "No message {message_id}."


class TaskTransitionInvalid(ConflictError):
    code = "task_transition_invalid"
    default_detail = "Task {task_id} is {status}; it cannot be {action}."


class TaskAlreadyAssigned(ConflictError):
    code = "task_already_assigned"
    default_detail = "Task {task_id} is already assigned to agent {agent_id}."


class TaskNotAssigned(ConflictError):
    code = "task_not_assigned"
    default_detail = "Task {task_id} has no assigned agent; assign it first."


class AgentNotAssignable(ConflictError):
    code = "agent_not_assignable"
    default_detail = "Agent {agent_id} is {status}; tasks go to idle or active agents only."


class AgentLacksCapabilities(ConflictError):
    code = "agent_lacks_capabilities"
    default_detail = "Agent {agent_id} lacks the capabilities the task asks: {missing}."


class NoAgentAvailable(ConflictError):
    code = "no_agent_available"
    default_detail = "No idle or active agent holds every capability the task asks ({capabilities})."


class WorkflowNotActive(ConflictError):
    code = "workflow_not_active"
    default_detail = "Workflow {workflow_id} is {status}; only an active workflow can be started."


class ExecutionNotRunning(ConflictError):
    code = "execution_not_running"
    default_detail = "Execution {execution_id} is {status}."


class InvalidWorkflowDefinition(DomainError):
    code = "invalid_definition"
    default_detail = "The workflow definition does not follow the step schema."


class MessageTransitionInvalid(ConflictError):
    code = "message_transition_invalid"
    default_detail = "Message {message_id} is {status}; it cannot be {action}."


class MessageExpired(ConflictError):
    code = "message_expired"
    default_detail = "Message {message_id} expired at {expires_at}."
