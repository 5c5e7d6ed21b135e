"""The feedback under an answer or a recommendation: "Helpful" / "Not helpful" and, after a
vote, who voted which way."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.render.block_kit import MAX_BUTTON_VALUE, Rendered, button, context, mention
from bot.slack.wire.ids import FEEDBACK_BLOCK_ID, ActionId


@dataclass(frozen=True)
class FeedbackButtons:
    """The "Helpful" / "Not helpful" buttons under an answer or a recommendation.

    `value` is the buttons' opaque value (both carry the same one). Once someone voted,
    `helpful` is their vote (that button is highlighted) and `voter` who they are: the message
    then thanks them and says how to change the vote.
    """

    value: str
    helpful: bool | None = None
    voter: str | None = None


def feedback_tail(feedback: FeedbackButtons) -> list[Block]:
    """What a rated message ends with: `feedback_blocks`, the not-yet-voted buttons from a
    template validated once (every answer carries them; only their value changes)."""
    if feedback.helpful is None:
        return [Rendered(fresh_feedback_json(feedback.value))]
    return feedback_blocks(feedback)


def feedback_blocks(feedback: FeedbackButtons) -> list[Block]:
    """The feedback buttons (block_id "feedback"); after a vote, the chosen one is highlighted
    and a line thanks the voter and says how to change the vote."""
    buttons = _feedback_buttons(feedback)
    if feedback.helpful is None:
        return [buttons]
    marked = "helpful" if feedback.helpful else "not helpful"
    thanks = f"Thanks {mention(feedback.voter)}" if feedback.voter else "Thanks"
    return [
        buttons,
        context(f"{thanks}: marked {marked}. Click the other button to change your vote."),
    ]


def _feedback_buttons(feedback: FeedbackButtons) -> ActionsBlock:
    return ActionsBlock(
        block_id=FEEDBACK_BLOCK_ID,
        elements=[
            button(
                ActionId.FEEDBACK_HELPFUL,
                "Helpful",
                feedback.value,
                "primary" if feedback.helpful is True else None,
            ),
            button(
                ActionId.FEEDBACK_NOT_HELPFUL,
                "Not helpful",
                feedback.value,
                "primary" if feedback.helpful is False else None,
            ),
        ],
    )


@lru_cache(maxsize=1)
def _fresh_feedback_template() -> dict[str, Any]:
    return _feedback_buttons(FeedbackButtons("value")).to_dict()


def fresh_feedback_json(value: str) -> dict[str, Any]:
    """The JSON of the not-yet-voted feedback buttons valued `value`: the same as slack_sdk
    renders for them, from a template validated once."""
    if len(value) > MAX_BUTTON_VALUE:
        raise ValueError(f"button value of {len(value)} characters is over {MAX_BUTTON_VALUE}")
    template = _fresh_feedback_template()
    buttons = [{**element, "value": value} for element in template["elements"]]
    return {**template, "elements": buttons}
