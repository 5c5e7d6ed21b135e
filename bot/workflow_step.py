"""The Workflow Builder step `recommend_framework`: questionnaire answers and/or a project
description in, the framework, the verdict, a one-paragraph rationale and the counterfactual
out. Pure: the Slack listener (bot/slack/listeners/workflow_step.py) passes the step's inputs
and completes or fails the step with what this returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.advisor import AnswerError, advise, lean, validate_answers
from bot.knowledge import KnowledgeBase
from bot.matching import Matcher

DESCRIPTION_INPUT = "project_description"
"""The free-text input: read as a project description, as a Slack message would be."""

OUTPUTS = ("framework", "verdict", "rationale", "counterfactual")


class StepInputError(ValueError):
    """Inputs a workflow author can fix; the message says how."""


@dataclass(frozen=True)
class StepResult:
    framework: str
    verdict: str
    """"clear" or "close" with every question answered; "lean" from partial answers."""
    rationale: str
    counterfactual: str

    def outputs(self) -> dict[str, str]:
        return {
            "framework": self.framework,
            "verdict": self.verdict,
            "rationale": self.rationale,
            "counterfactual": self.counterfactual,
        }


def _given_answers(kb: KnowledgeBase, inputs: Mapping[str, object]) -> dict[str, list[str]]:
    answers: dict[str, list[str]] = {}
    for question in kb.questionnaire.questions:
        value = inputs.get(question.id)
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, str):
            answers[question.id] = [part.strip() for part in value.split(",") if part.strip()]
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            answers[question.id] = list(value)
        else:
            raise StepInputError(f"The input `{question.id}` must be an option id (text).")
    return answers


def _check_given(kb: KnowledgeBase, given: Mapping[str, list[str]]) -> None:
    """Every answer the author set must be one of its options (unset ones may be missing)."""
    try:
        validate_answers(kb.questionnaire, given)
    except AnswerError as error:
        wrong = [
            problem
            for problem in error.problems
            if problem.question is not None and problem.question.id in given
        ]
        if wrong:
            raise StepInputError(str(AnswerError(wrong))) from error


def run_step(kb: KnowledgeBase, matcher: Matcher, inputs: Mapping[str, object]) -> StepResult:
    """The step's outputs for `inputs`; StepInputError when they cannot give one."""
    unknown = sorted(set(inputs) - {q.id for q in kb.questionnaire.questions} - {DESCRIPTION_INPUT})
    if unknown:
        raise StepInputError(f"Unknown input(s): {', '.join(unknown)}.")
    given = _given_answers(kb, inputs)
    _check_given(kb, given)
    description = inputs.get(DESCRIPTION_INPUT)
    read: dict[str, list[str]] = {}
    if isinstance(description, str) and description.strip():
        reading = matcher.reader.read(description)
        read = {question: list(options) for question, options in reading.answers.items()}
    answers = {**read, **given}
    if not answers:
        raise StepInputError(
            "Give at least one answer, or a project description that says what you are "
            "building (e.g. 'a staff portal with sign-in and reports, two developers, due "
            "in a month')."
        )
    missing = [q for q in kb.questionnaire.questions if q.id not in answers]
    if missing:
        leaning = lean(kb, answers)
        names = ", ".join(f"`{q.id}`" for q in missing)
        if leaning.leader is None:
            return StepResult(
                framework="",
                verdict="lean",
                rationale="The answers given weigh the same for every framework.",
                counterfactual=f"Answer {names} for a recommendation.",
            )
        why = "; ".join(c.option.reason for c in leaning.reasons[:3])
        return StepResult(
            framework=leaning.leader.name,
            verdict="lean",
            rationale=f"From {len(leaning.answers)} of {len(kb.questionnaire.questions)} "
            f"answers it leans {leaning.leader.name}: {why}",
            counterfactual=f"Not a verdict yet: answer {names} to settle it.",
        )
    try:
        checked = validate_answers(kb.questionnaire, answers)
    except AnswerError as error:
        raise StepInputError(str(error)) from error
    recommendation = advise(kb, checked)
    why = " ".join(c.option.reason for c in recommendation.reasons[:3])
    winner = recommendation.winner.name
    lead = "clearly" if recommendation.verdict == "clear" else "narrowly (a close call)"
    flip = recommendation.flip
    if flip is None:
        counterfactual = "No single changed answer would change the recommendation."
    else:
        alternative = ", ".join(option.label for option in flip.alternative) or "none"
        counterfactual = (
            f"If the answer to “{flip.question.prompt}” were “{alternative}”, "
            f"{flip.new_winner.name} would win."
        )
    return StepResult(
        framework=winner,
        verdict=recommendation.verdict,
        rationale=f"{winner} wins {lead}. {why}".strip(),
        counterfactual=counterfactual,
    )
