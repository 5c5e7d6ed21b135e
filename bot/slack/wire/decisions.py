"""State a team decision carries in Slack: its buttons' value and the "Add my answers"
modal's private_metadata. The decision itself is in the store; these only name it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bot.render.block_kit import MAX_BUTTON_VALUE, MAX_PRIVATE_METADATA
from bot.slack.wire.state import _Carried


class DecisionRef(_Carried):
    """The value of "Add my answers" and "Close and record": which decision."""

    decision: int = Field(ge=1)

    def encode_value(self) -> str:
        return self.encode(MAX_BUTTON_VALUE)


class DecisionAnswering(_Carried):
    """One person's answers to a decision in progress in the modal: the step shown and the
    answers so far (stored only when they submit the last step)."""

    decision: int = Field(ge=1)
    step: int = Field(default=0, ge=0)
    answers: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    def encode_metadata(self) -> str:
        return self.encode(MAX_PRIVATE_METADATA)

    def with_answer(self, question_id: str, option_ids: tuple[str, ...]) -> DecisionAnswering:
        answers = dict(self.answers)
        if option_ids:
            answers[question_id] = option_ids
        else:
            answers.pop(question_id, None)
        return self.model_copy(update={"answers": answers})

    def at_step(self, step: int) -> DecisionAnswering:
        return self.model_copy(update={"step": step})


class Submitter(BaseModel):
    """The `user` of a view submission, with the name Slack gives (kept for the record)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1)
    name: str | None = None
    username: str | None = None

    @property
    def display_name(self) -> str | None:
        return self.name or self.username
