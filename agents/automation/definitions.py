"""The workflow step schema: what `Workflow.definition` holds, validated without the database.

A definition is a JSON object with one key, `steps`, a list of 1 to MAX_STEPS steps run in order. A step:

| key | required | type | meaning |
|---|---|---|---|
| `name` | yes | string, 1-100 characters, unique in the workflow | the step's name; results are keyed by it |
| `title` | yes | string, 1-500 characters | the title of the task the step creates |
| `description` | no | string | the task's description |
| `capabilities` | no | list of distinct strings (1-100 characters) | what the agent doing the task must hold |
| `priority` | no | `low`, `medium` (default), `high`, `urgent` | the task's priority |
| `deadline_minutes` | no | positive integer | the task's deadline, counted from when the step starts |
| `context` | no | object | merged over the execution's context into the task's `context_data` |

Example: `{"steps": [{"name": "research", "title": "Research the account", "capabilities": ["web_search"]},
{"name": "draft", "title": "Draft the reply", "priority": "high", "deadline_minutes": 30}]}`.

Unknown keys are errors, at the top and in a step: a misspelt `capabilites` would otherwise be ignored and
the task given to any agent. `definition_errors` lists every problem with its path (`steps[1].name`);
`definition_steps` turns a valid definition into WorkflowStep values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_STEPS = 100
NAME_MAX_LENGTH = 100
TITLE_MAX_LENGTH = 500
CAPABILITY_MAX_LENGTH = 100
PRIORITIES = ("low", "medium", "high", "urgent")
STEP_KEYS = {"name", "title", "description", "capabilities", "priority", "deadline_minutes", "context"}


@dataclass(frozen=True)
class WorkflowStep:
    name: str
    title: str
    description: str | None = None
    capabilities: tuple[str, ...] = ()
    priority: str = "medium"
    deadline_minutes: int | None = None
    context: Mapping[str, Any] = field(default_factory=dict)


def _text_error(value: Any, *, max_length: int, what: str) -> str | None:
    if not isinstance(value, str):
        return f"{what} must be a string."
    if not value.strip():
        return f"{what} must not be blank."
    if len(value) > max_length:
        return f"{what} must be at most {max_length} characters."
    return None


def _step_errors(index: int, step: Any, seen_names: set[str]) -> list[str]:
    where = f"steps[{index}]"
    if not isinstance(step, dict):
        return [f"{where}: a step must be an object."]
    errors = [f"{where}.{key}: unknown key." for key in sorted(set(step) - STEP_KEYS)]
    for key, max_length in (("name", NAME_MAX_LENGTH), ("title", TITLE_MAX_LENGTH)):
        if key not in step:
            errors.append(f"{where}.{key}: required.")
        elif problem := _text_error(step[key], max_length=max_length, what="it"):
            errors.append(f"{where}.{key}: {problem}")
    name = step.get("name")
    if isinstance(name, str) and name.strip():
        if name in seen_names:
            errors.append(f"{where}.name: {name!r} names another step too; step names must be unique.")
        seen_names.add(name)
    if "description" in step and not isinstance(step["description"], str):
        errors.append(f"{where}.description: must be a string.")
    if "capabilities" in step:
        capabilities = step["capabilities"]
        if not isinstance(capabilities, list):
            errors.append(f"{where}.capabilities: must be a list of capability names.")
        else:
            for position, capability in enumerate(capabilities):
                if problem := _text_error(capability, max_length=CAPABILITY_MAX_LENGTH, what="it"):
                    errors.append(f"{where}.capabilities[{position}]: {problem}")
            names = [item for item in capabilities if isinstance(item, str)]
            if len(set(names)) != len(names):
                errors.append(f"{where}.capabilities: lists a capability more than once.")
    if "priority" in step and step["priority"] not in PRIORITIES:
        errors.append(f"{where}.priority: must be one of {', '.join(PRIORITIES)}.")
    if "deadline_minutes" in step:
        minutes = step["deadline_minutes"]
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
            errors.append(f"{where}.deadline_minutes: must be a positive whole number of minutes.")
    if "context" in step and not isinstance(step["context"], dict):
        errors.append(f"{where}.context: must be an object.")
    return errors


def definition_errors(definition: Any) -> list[str]:
    """Every way `definition` breaks the step schema, each prefixed with its path; [] when valid."""
    if not isinstance(definition, dict):
        return ['The definition must be an object like {"steps": [...]}.']
    errors = [f"{key}: unknown key." for key in sorted(set(definition) - {"steps"})]
    steps = definition.get("steps")
    if steps is None:
        return [*errors, "steps: required."]
    if not isinstance(steps, list):
        return [*errors, "steps: must be a list of steps."]
    if not steps:
        errors.append("steps: a workflow needs at least one step.")
    if len(steps) > MAX_STEPS:
        errors.append(f"steps: at most {MAX_STEPS} steps.")
    seen_names: set[str] = set()
    for index, step in enumerate(steps):
        errors.extend(_step_errors(index, step, seen_names))
    return errors


def definition_steps(definition: Mapping[str, Any]) -> list[WorkflowStep]:
    """The steps of a definition that `definition_errors` accepted, in order."""
    return [
        WorkflowStep(
            name=step["name"],
            title=step["title"],
            description=step.get("description"),
            capabilities=tuple(step.get("capabilities", ())),
            priority=step.get("priority", "medium"),
            deadline_minutes=step.get("deadline_minutes"),
            context=dict(step.get("context", {})),
        )
        for step in definition["steps"]
    ]
