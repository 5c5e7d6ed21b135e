"""The Workflow Builder step `recommend_framework`, end to end: a signed `function_executed`
event completes the step through `functions.completeSuccess` with the framework, verdict,
rationale and counterfactual (with the function's own token), or fails it through
`functions.completeError` with what the workflow's author can fix."""

from __future__ import annotations

from typing import Any

import pytest

from bot.knowledge import KnowledgeBase
from tests.support.fake_slack import FakeSlack
from tests.support.slack_fixtures import Send
from tests.support.slack_requests import function_executed
from tests.support.waiting import eventually

FUNCTION_TOKEN = "xwfp-fake-function-token"


def run_step(send: Send, fake_slack: FakeSlack, inputs: dict[str, Any]) -> tuple[str, Any]:
    """Send the step's event; the method that finished it and its params."""
    assert send("event", function_executed(inputs)).status == 200
    [call] = eventually(
        lambda: [c for c in fake_slack.calls if c.method.startswith("functions.complete")],
        "the step completed or failed",
    )
    assert call.headers.get("authorization") == f"Bearer {FUNCTION_TOKEN}"
    assert call.params["function_execution_id"] == "Fx0FAKE00001"
    return call.method, call.params


def all_answers(kb: KnowledgeBase, **chosen: str) -> dict[str, str]:
    answers = {q.id: q.options[0].id for q in kb.questionnaire.questions}
    answers.update(chosen)
    return answers


def test_every_answer_given_completes_with_a_verdict_and_what_would_change_it(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    method, params = run_step(send, fake_slack, all_answers(kb))

    assert method == "functions.completeSuccess"
    outputs = params["outputs"]
    assert set(outputs) == {"framework", "verdict", "rationale", "counterfactual"}
    assert outputs["framework"] in {f.name for f in kb.frameworks}
    assert outputs["verdict"] in {"clear", "close"}
    assert outputs["framework"] in outputs["rationale"]
    assert outputs["counterfactual"]


def test_a_project_description_alone_gives_a_lean_and_says_what_is_left(
    send: Send, fake_slack: FakeSlack
) -> None:
    description = (
        "Two of us are building a staff portal with sign-in, data entry screens and a few "
        "reports, and it has to ship within a few weeks."
    )
    method, params = run_step(send, fake_slack, {"project_description": description})

    assert method == "functions.completeSuccess"
    outputs = params["outputs"]
    assert outputs["verdict"] == "lean"
    assert outputs["framework"] == "Django"
    assert "answer" in outputs["counterfactual"].lower()


def test_an_answer_the_author_set_wins_over_what_the_description_says(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    inputs = {**all_answers(kb, building="json-api"), "project_description": "a staff portal"}
    method, params = run_step(send, fake_slack, inputs)

    assert method == "functions.completeSuccess"
    assert params["outputs"]["verdict"] in {"clear", "close"}


@pytest.mark.parametrize(
    ("inputs", "says"),
    [
        ({"scale": "enormous"}, "'enormous' is not one of its options"),
        ({}, "Give at least one answer"),
        ({"colour": "blue"}, "Unknown input(s): colour"),
    ],
    ids=["unknown option", "nothing given", "unknown input"],
)
def test_inputs_the_author_can_fix_fail_the_step_saying_how(
    send: Send, fake_slack: FakeSlack, inputs: dict[str, Any], says: str
) -> None:
    method, params = run_step(send, fake_slack, inputs)

    assert method == "functions.completeError"
    assert says in params["error"]
