"""Routing's domain errors (rendered by config.api as {"detail", "code", "fields"})."""

from __future__ import annotations

from config.errors import ConflictError, DomainError, NotFoundError


class RoutingValidationError(DomainError):
    code = "invalid_case_request"
    http_status = 400
    default_detail = "The case request is not valid."


class UnknownSkillDomain(DomainError):
    code = "unknown_skill_domain"
    http_status = 400
    default_detail = "Unknown skill domain(s): {codes}."


class UnknownStrategy(DomainError):
    code = "unknown_strategy"
    http_status = 400
    default_detail = "Unknown routing strategy {strategy!r}; choose one of {choices}."


class CaseNotFound(NotFoundError):
    code = "case_not_found"
    default_detail = "No case with id {case_id}."


class QueueEntryNotFound(NotFoundError):
    code = "queue_entry_not_found"
    default_detail = "No queue entry {entry_id}."


class CaseAlreadyRouted(ConflictError):
    code = "case_already_routed"
    default_detail = "Case {case_id} has already been routed (status {status})."


class InvalidCaseTransition(ConflictError):
    code = "invalid_transition"
    default_detail = "Case {case_id} cannot be {action} while {status}."


class AgentAtCapacity(ConflictError):
    code = "agent_at_capacity"
    default_detail = "Agent {agent_code} is at capacity ({load}/{capacity})."


class QueueEntryNotWaiting(ConflictError):
    code = "queue_entry_not_waiting"
    default_detail = "Queue entry {entry_id} is not waiting (status {status})."


class AssignmentRefused(ConflictError):
    code = "assignment_refused"
    default_detail = (
        "Case {case_id} cannot be given to {agent_code}: {reasons}. Give an override_reason to assign anyway."
    )


class StaleAssignment(ConflictError):
    """A start or completion names an assignment that is no longer the case's open one (a late action
    after the case was taken back and given to someone else)."""

    code = "stale_assignment"
    default_detail = "That assignment of case {case_id} is no longer open."


class AssignmentNotIdentified(DomainError):
    code = "assignment_not_identified"
    http_status = 400
    default_detail = "Say which assignment this is: give assignment_id or the acting agent's code (agent)."


class AssignmentNotFound(NotFoundError):
    code = "assignment_not_found"
    default_detail = "No assignment {assignment_id} of case {case_id}."


# --- leads ---------------------------------------------------------------------------------------------


class LeadNotFound(NotFoundError):
    code = "lead_not_found"
    default_detail = "No lead {lead_id}."


class LeadAlreadyExists(ConflictError):
    code = "unique"
    default_detail = "A lead with external id {external_id} exists."


class LeadNotRoutable(ConflictError):
    code = "lead_not_routable"
    default_detail = "Lead {lead_id} cannot be routed while {status}."


class InvalidLeadTransition(ConflictError):
    code = "invalid_transition"
    default_detail = "Lead {lead_id} cannot be marked {outcome} while {status}."


class ExperimentNotFound(NotFoundError):
    code = "experiment_not_found"
    default_detail = "No experiment {experiment_id}."


class ExperimentConflict(ConflictError):
    code = "experiment_conflict"
    default_detail = "{reason}"


class InvalidExperiment(DomainError):
    code = "invalid_experiment"
    http_status = 400
    default_detail = "{reason}"


class RuleNotFound(NotFoundError):
    code = "rule_not_found"
    default_detail = "No routing rule {rule_id}."


class InvalidRule(DomainError):
    """A rule whose condition or action the rules engine refuses; `fields` names the rule's field at
    fault with the path of the bad part (e.g. `condition.all[1].value: Must be a number ...`)."""

    code = "invalid_rule"
    http_status = 400
    default_detail = "{reason}"
