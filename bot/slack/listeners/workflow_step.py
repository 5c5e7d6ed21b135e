"""The Workflow Builder step "Recommend a framework" (`function_executed`): the step's inputs
(questionnaire answers, a project description) go to the core, and the step completes with the
framework, verdict, rationale and counterfactual, or fails with what the workflow's author can
fix."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext, Complete, Fail

from bot.slack.context import app_context_of
from bot.slack.wire.ids import FunctionId
from bot.workflow_step import StepInputError, run_step

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.function(FunctionId.RECOMMEND_FRAMEWORK)(recommend_framework)


def recommend_framework(
    inputs: dict[str, Any], complete: Complete, fail: Fail, context: BoltContext
) -> None:
    snapshot = app_context_of(context).knowledge.snapshot
    try:
        result = run_step(snapshot.kb, snapshot.matcher, inputs)
    except StepInputError as error:
        log.info("Workflow step refused its inputs: %s", error)
        fail(f"Framework Advisor could not recommend: {error}")
        return
    complete(outputs=result.outputs())
