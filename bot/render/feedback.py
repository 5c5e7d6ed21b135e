"""The feedback under an answer or a recommendation: Slack's native 👍 / 👎 in a
`context_actions` block, a line after a vote saying who voted which way, and the "What was
wrong?" modal a 👎 opens."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextActionsBlock,
    FeedbackButtonObject,
    FeedbackButtonsElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
)
from slack_sdk.models.views import View

from bot.render.block_kit import (
    MAX_BUTTON_VALUE,
    MAX_INPUT_LABEL,
    MAX_OPTION_TEXT,
    MAX_PRIVATE_METADATA,
    MAX_VIEW_TITLE,
    Rendered,
    context,
    mention,
    plain,
)
from bot.slack.wire.ids import FEEDBACK_BLOCK_ID, NOTE_BLOCK_ID, REASON_BLOCK_ID, ActionId
from bot.store.reasons import MAX_REASON_NOTE, REASON_LABELS


@dataclass(frozen=True)
class FeedbackButtons:
    """The 👍 / 👎 under an answer or a recommendation.

    `helpful_value` and `not_helpful_value` are the buttons' opaque values. Once someone
    voted, `helpful` is their vote and `voter` who they are: the message then thanks them
    and says how to change the vote.
    """

    helpful_value: str
    not_helpful_value: str
    helpful: bool | None = None
    voter: str | None = None


def feedback_tail(feedback: FeedbackButtons) -> list[Block]:
    """What a rated message ends with: `feedback_blocks`, the not-yet-voted buttons from a
    template validated once (every answer carries them; only their values change)."""
    if feedback.helpful is None:
        return [Rendered(fresh_feedback_json(feedback.helpful_value, feedback.not_helpful_value))]
    return feedback_blocks(feedback)


def feedback_blocks(feedback: FeedbackButtons) -> list[Block]:
    """The 👍 / 👎 (block_id "feedback"); after a vote, a line thanks the voter, says which
    way they voted and how to change it."""
    buttons = _feedback_buttons(feedback.helpful_value, feedback.not_helpful_value)
    if feedback.helpful is None:
        return [buttons]
    marked = "helpful" if feedback.helpful else "not helpful"
    other = "👎" if feedback.helpful else "👍"
    thanks = f"Thanks {mention(feedback.voter)}" if feedback.voter else "Thanks"
    return [buttons, context(f"{thanks}: marked {marked}. Click {other} to change your vote.")]


def _feedback_buttons(helpful_value: str, not_helpful_value: str) -> ContextActionsBlock:
    for value in (helpful_value, not_helpful_value):
        if len(value) > MAX_BUTTON_VALUE:
            raise ValueError(f"button value of {len(value)} characters is over {MAX_BUTTON_VALUE}")
    return ContextActionsBlock(
        block_id=FEEDBACK_BLOCK_ID,
        elements=[
            FeedbackButtonsElement(
                action_id=ActionId.FEEDBACK,
                positive_button=FeedbackButtonObject(
                    text=plain("👍", MAX_OPTION_TEXT),
                    accessibility_label="This was helpful",
                    value=helpful_value,
                ),
                negative_button=FeedbackButtonObject(
                    text=plain("👎", MAX_OPTION_TEXT),
                    accessibility_label="This was not helpful",
                    value=not_helpful_value,
                ),
            )
        ],
    )


@lru_cache(maxsize=1)
def _fresh_feedback_template() -> dict[str, Any]:
    return _feedback_buttons("+", "-").to_dict()


def fresh_feedback_json(helpful_value: str, not_helpful_value: str) -> dict[str, Any]:
    """The JSON of the not-yet-voted 👍 / 👎 with these values: the same as slack_sdk renders
    for them, from a template validated once."""
    for value in (helpful_value, not_helpful_value):
        if len(value) > MAX_BUTTON_VALUE:
            raise ValueError(f"button value of {len(value)} characters is over {MAX_BUTTON_VALUE}")
    template = _fresh_feedback_template()
    [element] = template["elements"]
    buttons = {
        **element,
        "positive_button": {**element["positive_button"], "value": helpful_value},
        "negative_button": {**element["negative_button"], "value": not_helpful_value},
    }
    return {**template, "elements": [buttons]}


def reason_view(private_metadata: str, callback_id: str) -> View:
    """ "What was wrong?": one reason (required) and the person's own words (optional). The
    vote is stored before this opens, so closing it loses nothing."""
    if len(private_metadata) > MAX_PRIVATE_METADATA:
        raise ValueError(
            f"private_metadata of {len(private_metadata)} characters is over {MAX_PRIVATE_METADATA}"
        )
    options = [
        Option(value=reason, text=plain(label, MAX_OPTION_TEXT))
        for reason, label in REASON_LABELS.items()
    ]
    return View(
        type="modal",
        callback_id=callback_id,
        title=plain("What was wrong?", MAX_VIEW_TITLE),
        submit=plain("Send", MAX_VIEW_TITLE),
        close=plain("Skip", MAX_VIEW_TITLE),
        private_metadata=private_metadata,
        blocks=[
            context("Your 👎 is saved. Telling us why helps the curators fix the answer."),
            InputBlock(
                block_id=REASON_BLOCK_ID,
                label=plain("What was wrong?", MAX_INPUT_LABEL),
                element=RadioButtonsElement(action_id=ActionId.FEEDBACK_REASON, options=options),
            ),
            InputBlock(
                block_id=NOTE_BLOCK_ID,
                label=plain("Anything else? (optional)", MAX_INPUT_LABEL),
                optional=True,
                element=PlainTextInputElement(
                    action_id=ActionId.FEEDBACK_NOTE,
                    multiline=True,
                    max_length=MAX_REASON_NOTE,
                ),
            ),
        ],
    )
