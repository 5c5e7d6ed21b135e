"""The questionnaire: the modal that asks one question a step, and the button that opens it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    CheckboxesElement,
    InputBlock,
    Option,
    RadioButtonsElement,
    StaticMultiSelectElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.knowledge import KnowledgeBase, Question, Questionnaire
from bot.render.block_kit import (
    MAX_INPUT_LABEL,
    MAX_OPTION_TEXT,
    MAX_PRIVATE_METADATA,
    MAX_RADIO_OPTIONS,
    MAX_SELECT_OPTIONS,
    MAX_VIEW_TITLE,
    Message,
    button,
    context,
    framework_names,
    notification,
    plain,
    section,
)
from bot.slack.wire.ids import QUESTION_BLOCK_PREFIX, ActionId

QUESTIONNAIRE_TITLE = "Framework Advisor"


def start_questionnaire_message(kb: KnowledgeBase, value: str) -> Message:
    """A button that opens the questionnaire (events carry no trigger_id to open it at once)."""
    count = len(kb.questionnaire.questions)
    text = (
        f"Answer {count} short questions about your project and I'll recommend "
        f"{framework_names(kb, 'or')}, with the reasons and teams that "
        "made the same choice."
    )
    return Message(notification(text), (section(text), start_block("Start questionnaire", value)))


def start_block(label: str, value: str) -> ActionsBlock:
    """The button that opens the questionnaire; `value` is the Place it reports to (with any
    answers chosen in advance)."""
    return ActionsBlock(
        block_id="start",
        elements=[button(ActionId.START_QUESTIONNAIRE, label, value, "primary")],
    )


def restart_view(text: str, start_value: str) -> View:
    """A modal saying the questionnaire cannot go on (mrkdwn `text`, already escaped), with a
    button that starts it again in this modal; `start_value` is the Place it reports to."""
    return View(
        type="modal",
        title=plain("Start again", MAX_VIEW_TITLE),
        close=plain("Close", MAX_VIEW_TITLE),
        blocks=[section(text), start_block("Start again", start_value)],
    )


def question_block_id(question: Question) -> str:
    return f"{QUESTION_BLOCK_PREFIX}{question.id}"


def _options(question: Question) -> list[Option]:
    """The question's options; values are option ids, which the knowledge schema keeps within
    64 characters (Slack allows 150)."""
    return [
        Option(value=option.id, text=plain(option.label, MAX_OPTION_TEXT))
        for option in question.options
    ]


def _choice_element(question: Question, chosen: Sequence[str]) -> Any:
    options = _options(question)
    selected = [option for option in options if option.value in chosen]
    action_id = ActionId.QUESTIONNAIRE_CHOICE.value
    if question.kind == "single":
        initial = selected[0] if selected else None
        if len(options) <= MAX_RADIO_OPTIONS:
            return RadioButtonsElement(action_id=action_id, options=options, initial_option=initial)
        return StaticSelectElement(
            action_id=action_id,
            options=options[:MAX_SELECT_OPTIONS],
            initial_option=initial,
            placeholder=plain("Choose one", 150),
        )
    if len(options) <= MAX_RADIO_OPTIONS:
        return CheckboxesElement(
            action_id=action_id, options=options, initial_options=selected or None
        )
    return StaticMultiSelectElement(
        action_id=action_id,
        options=options[:MAX_SELECT_OPTIONS],
        initial_options=selected or None,
        placeholder=plain("Choose one or more", 150),
    )


def questionnaire_view(
    questionnaire: Questionnaire,
    step: int,
    answers: Mapping[str, Sequence[str]],
    private_metadata: str,
    callback_id: str,
) -> View:
    """Step `step` (0-based) of the questionnaire: one question, "Step k of n", Back from the
    second step on, and "Next" or, on the last step, "See recommendation"."""
    questions = questionnaire.questions
    if not 0 <= step < len(questions):
        raise ValueError(f"step {step} is outside 0..{len(questions) - 1}")
    if len(private_metadata) > MAX_PRIVATE_METADATA:
        raise ValueError(
            f"private_metadata of {len(private_metadata)} characters is over {MAX_PRIVATE_METADATA}"
        )
    question = questions[step]
    last = step == len(questions) - 1
    hint = question.help or ("Choose all that apply." if question.kind == "multiple" else None)
    blocks: list[Block] = [
        context(f"Step {step + 1} of {len(questions)}"),
        InputBlock(
            block_id=question_block_id(question),
            label=plain(question.prompt, MAX_INPUT_LABEL),
            element=_choice_element(question, answers.get(question.id, ())),
            hint=plain(hint, MAX_INPUT_LABEL) if hint else None,
        ),
    ]
    if step > 0:
        blocks.append(
            ActionsBlock(
                block_id="navigation",
                elements=[button(ActionId.QUESTIONNAIRE_BACK, "Back", str(step))],
            )
        )
    return View(
        type="modal",
        callback_id=callback_id,
        title=plain(QUESTIONNAIRE_TITLE, MAX_VIEW_TITLE),
        submit=plain("See recommendation" if last else "Next", MAX_VIEW_TITLE),
        close=plain("Cancel", MAX_VIEW_TITLE),
        blocks=blocks,
        private_metadata=private_metadata,
        clear_on_close=True,
    )
