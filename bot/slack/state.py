"""State that travels inside Slack: a modal's `private_metadata` and buttons' `value`s.

Nothing is kept in the process between two clicks, so any instance behind a load balancer can
serve the next one. Everything here is JSON validated by pydantic on the way back in: a value
from an old version of the app, or one that does not parse, raises StateError and the
listener asks the person to start again.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.render.blocks import MAX_BUTTON_VALUE, MAX_PRIVATE_METADATA


class StateError(ValueError):
    """A private_metadata or button value that cannot be read back."""


class _State(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def encode(self, limit: int) -> str:
        text = self.model_dump_json(exclude_none=True, exclude_defaults=True)
        if len(text) > limit:
            raise StateError(f"{type(self).__name__} needs {len(text)} characters, over {limit}")
        return text

    @classmethod
    def decode(cls, text: str) -> Self:
        try:
            return cls.model_validate_json(text or "{}")
        except ValidationError as error:
            raise StateError(
                f"unreadable {cls.__name__}: {error.error_count()} problem(s)"
            ) from None


class Destination(_State):
    """Where a questionnaire's result goes: ephemeral to `user` in `channel` (in `thread_ts`
    when set, through `response_url` when that is what we have), or to the user's DM."""

    user: str = Field(min_length=1)
    dm: bool = False
    channel: str | None = None
    thread_ts: str | None = None
    response_url: str | None = None

    @classmethod
    def direct_message(cls, user: str) -> Self:
        return cls(user=user, dm=True)

    def for_user(self, user: str) -> Destination:
        """The same place, for whoever clicked (a button in a channel is for anyone there)."""
        return self.model_copy(update={"user": user})


class Place(_State):
    """Where a "Start questionnaire" button was posted; the clicker becomes the user."""

    dm: bool = False
    channel: str | None = None
    thread_ts: str | None = None

    def destination(self, user: str, response_url: str | None) -> Destination:
        if self.dm or not self.channel:
            return Destination.direct_message(user)
        return Destination(
            user=user, channel=self.channel, thread_ts=self.thread_ts, response_url=response_url
        )

    def encode_value(self) -> str:
        return self.encode(MAX_BUTTON_VALUE)


class QuestionnaireState(_State):
    """A questionnaire in progress: the step shown (0-based), the answers so far, and where
    the result goes. This is the modal's private_metadata."""

    step: int = Field(default=0, ge=0)
    answers: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    to: Destination

    def encode_metadata(self) -> str:
        return self.encode(MAX_PRIVATE_METADATA)

    def with_answer(self, question_id: str, option_ids: tuple[str, ...]) -> QuestionnaireState:
        answers = dict(self.answers)
        if option_ids:
            answers[question_id] = option_ids
        else:
            answers.pop(question_id, None)
        return self.model_copy(update={"answers": answers})

    def at_step(self, step: int) -> QuestionnaireState:
        return self.model_copy(update={"step": step})


class ResultValue(_State):
    """The value of "Share in channel", "Share in thread" and "Start over" under a result: the
    answers (the recommendation is recomputed from them) and where it was shown."""

    answers: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    to: Destination

    def encode_value(self) -> str:
        return self.encode(MAX_BUTTON_VALUE)
