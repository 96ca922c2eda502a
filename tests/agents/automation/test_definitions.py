"""The workflow step schema, without the database."""

from __future__ import annotations

import pytest

from agents.automation.definitions import MAX_STEPS, WorkflowStep, definition_errors, definition_steps

VALID = {
    "steps": [
        {"name": "research", "title": "Research", "capabilities": ["web_search"], "context": {"depth": 2}},
        {"name": "draft", "title": "Draft", "priority": "high", "deadline_minutes": 30, "description": "d"},
    ]
}


def test_a_valid_definition_has_no_errors_and_gives_its_steps_in_order():
    assert definition_errors(VALID) == []
    assert definition_steps(VALID) == [
        WorkflowStep(name="research", title="Research", capabilities=("web_search",), context={"depth": 2}),
        WorkflowStep(name="draft", title="Draft", description="d", priority="high", deadline_minutes=30),
    ]


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ([], ['The definition must be an object like {"steps": [...]}.']),
        ({}, ["steps: required."]),
        ({"steps": {}}, ["steps: must be a list of steps."]),
        ({"steps": []}, ["steps: a workflow needs at least one step."]),
        ({"steps": [], "stages": 1}, ["stages: unknown key.", "steps: a workflow needs at least one step."]),
        ({"steps": ["research"]}, ["steps[0]: a step must be an object."]),
        ({"steps": [{"title": "T"}]}, ["steps[0].name: required."]),
        ({"steps": [{"name": " ", "title": "T"}]}, ["steps[0].name: it must not be blank."]),
        (
            {"steps": [{"name": "a", "title": "T" * 501}]},
            ["steps[0].title: it must be at most 500 characters."],
        ),
        ({"steps": [{"name": "a", "title": "T", "capabilites": []}]}, ["steps[0].capabilites: unknown key."]),
        (
            {"steps": [{"name": "a", "title": "T"}, {"name": "a", "title": "U"}]},
            ["steps[1].name: 'a' names another step too; step names must be unique."],
        ),
        (
            {"steps": [{"name": "a", "title": "T", "capabilities": "x"}]},
            ["steps[0].capabilities: must be a list of capability names."],
        ),
        (
            {"steps": [{"name": "a", "title": "T", "capabilities": ["x", "x"]}]},
            ["steps[0].capabilities: lists a capability more than once."],
        ),
        (
            {"steps": [{"name": "a", "title": "T", "capabilities": [3]}]},
            ["steps[0].capabilities[0]: it must be a string."],
        ),
        (
            {"steps": [{"name": "a", "title": "T", "priority": "critical"}]},
            ["steps[0].priority: must be one of low, medium, high, urgent."],
        ),
        (
            {"steps": [{"name": "a", "title": "T", "deadline_minutes": 0}]},
            ["steps[0].deadline_minutes: must be a positive whole number of minutes."],
        ),
        (
            {"steps": [{"name": "a", "title": "T", "deadline_minutes": True}]},
            ["steps[0].deadline_minutes: must be a positive whole number of minutes."],
        ),
        ({"steps": [{"name": "a", "title": "T", "context": []}]}, ["steps[0].context: must be an object."]),
        (
            {"steps": [{"name": "a", "title": "T", "description": 1}]},
            ["steps[0].description: must be a string."],
        ),
    ],
)
def test_each_problem_is_reported_with_its_path(definition, expected):
    assert definition_errors(definition) == expected


def test_too_many_steps_is_an_error():
    steps = [{"name": f"s{n}", "title": "T"} for n in range(MAX_STEPS + 1)]
    assert definition_errors({"steps": steps}) == [f"steps: at most {MAX_STEPS} steps."]
