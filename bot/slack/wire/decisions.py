"""State a team decision carries in Slack: its buttons' value and the "Add my answers"
modal's private_metadata. The decision itself is in the store; these only name it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bot.render.block_kit import MAX_BUTTON_VALUE
from bot.slack.wire.state import Answering, _Carried


class DecisionRef(_Carried):
    """The value of "Add my answers" and "Close and record": which decision."""

    decision: int = Field(ge=1)

    def encode_value(self) -> str:
        return self.encode(MAX_BUTTON_VALUE)


class DecisionAnswering(Answering):
    """One person's answers to a decision in progress in the modal (stored only when they
    submit the last step)."""

    decision: int = Field(ge=1)


class Submitter(BaseModel):
    """The `user` of a view submission, with the name Slack gives (kept for the record)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1)
    name: str | None = None
    username: str | None = None

    @property
    def display_name(self) -> str | None:
        return self.name or self.username
