"""State that travels inside Slack: a modal's `private_metadata` and buttons' `value`s.

Nothing is kept in the process between two clicks, so any instance behind a load balancer can
serve the next one. Everything here is JSON validated by pydantic on the way back in: a value
from an old version of the app, or one that does not parse, raises StateError and the
listener asks the person to start again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.render.block_kit import MAX_BUTTON_VALUE, MAX_PRIVATE_METADATA

MAX_FEEDBACK_QUESTION = 1000
"""At most this much of a question travels in a feedback button (the matcher reads no more)."""


class StateError(ValueError):
    """A private_metadata or button value that cannot be read back."""


class _Carried(BaseModel):
    """State carried by Slack for the app: in a button's value or a view's private_metadata."""

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


class Destination(_Carried):
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


class Place(_Carried):
    """Where a "Start questionnaire" button was posted; the clicker becomes the user."""

    dm: bool = False
    channel: str | None = None
    thread_ts: str | None = None
    answers: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """Answers read from a project description, chosen in advance when the questionnaire opens."""

    def with_answers(self, answers: Mapping[str, Sequence[str]]) -> Place:
        return self.model_copy(update={"answers": {q: tuple(o) for q, o in answers.items()}})

    def destination(self, user: str, response_url: str | None) -> Destination:
        if self.dm or not self.channel:
            return Destination.direct_message(user)
        return Destination(
            user=user, channel=self.channel, thread_ts=self.thread_ts, response_url=response_url
        )

    def encode_value(self) -> str:
        return self.encode(MAX_BUTTON_VALUE)


class Answering(_Carried):
    """The questionnaire modal in progress, whoever it is for: the step shown (0-based) and
    the answers so far. Its private_metadata is a subclass, which adds where the answers go."""

    step: int = Field(default=0, ge=0)
    answers: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    def encode_metadata(self) -> str:
        return self.encode(MAX_PRIVATE_METADATA)

    def with_answer(self, question_id: str, option_ids: tuple[str, ...]) -> Self:
        answers = dict(self.answers)
        if option_ids:
            answers[question_id] = option_ids
        else:
            answers.pop(question_id, None)
        return self.model_copy(update={"answers": answers})

    def at_step(self, step: int) -> Self:
        return self.model_copy(update={"step": step})


class QuestionnaireState(Answering):
    """One person's questionnaire, and where the result goes."""

    to: Destination


class ResultValue(_Carried):
    """The value of "Share in channel", "Share in thread" and "Start over" under a result: the
    answers (the recommendation is recomputed from them) and where it was shown."""

    answers: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    to: Destination
    recommendation_id: str | None = None
    """The stored recommendation shown (`recommendations.uid`): a shared copy names it too."""

    def encode_value(self) -> str:
        return self.encode(MAX_BUTTON_VALUE)


class FeedbackValue(_Carried):
    """The value of the "Helpful" / "Not helpful" buttons: what is rated (a knowledge entry or
    the winning framework of a recommendation), the person's question, and what it takes to
    rebuild the message after the vote: the answers of a recommendation, who shared it, and
    where it was delivered (its Share / Start over buttons are rebuilt from that)."""

    kind: Literal["entry", "recommendation"]
    target: str = Field(min_length=1)
    question: str | None = None
    answers: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    shared_by: str | None = None
    to: Destination | None = None
    helpful: bool | None = None
    """The vote a native 👍 / 👎 button stands for (each carries its own value); None in the
    value both older Helpful / Not helpful buttons shared, whose action_id said the vote."""
    question_id: str | None = None
    """The stored question the answer was given to (`questions.uid`), for messages that carry
    no metadata (ephemeral replies); buttons made before it have none."""
    recommendation_id: str | None = None
    """The stored recommendation rated (`recommendations.uid`), likewise; None for a shared
    copy of a result whose message did not name it, and for buttons made before it."""

    def voting(self, helpful: bool | None) -> FeedbackValue:
        return self.model_copy(update={"helpful": helpful})

    def vote_values(self) -> tuple[str, str]:
        """The values of the 👍 and the 👎 button."""
        return self.voting(True).encode_value(), self.voting(False).encode_value()

    @classmethod
    def for_entry(cls, entry_id: str, question: str | None, question_id: str | None = None) -> Self:
        """An answer with entry `entry_id` to `question` (None when the person picked the
        topic from suggestions rather than asking for it), stored as `question_id`."""
        return cls(
            kind="entry", target=entry_id, question=question or None, question_id=question_id
        )

    @classmethod
    def for_recommendation(
        cls,
        framework_id: str,
        answers: Mapping[str, Sequence[str]],
        *,
        to: Destination | None = None,
        shared_by: str | None = None,
        recommendation_id: str | None = None,
    ) -> Self:
        """A recommendation of `framework_id` for `answers`; `to` where it was delivered
        (None for a shared copy, which has no result buttons), `shared_by` who shared it,
        `recommendation_id` its id in the store."""
        return cls(
            kind="recommendation",
            target=framework_id,
            answers={question: tuple(options) for question, options in answers.items()},
            to=to,
            shared_by=shared_by,
            recommendation_id=recommendation_id,
        )

    def encode_value(self) -> str:
        """The value within Slack's 2000 characters: a destination too long to fit loses its
        response URL, then itself; a question too long to fit is shortened."""
        value = self
        if value.question is not None:
            value = value._asking(value.question[:MAX_FEEDBACK_QUESTION])
        if not value._fits() and value.to is not None and value.to.response_url is not None:
            value = value.model_copy(
                update={"to": value.to.model_copy(update={"response_url": None})}
            )
        if not value._fits() and value.to is not None:
            value = value.model_copy(update={"to": None})
        if not value._fits() and value.question:
            # JSON escaping makes some characters longer than one: find the longest prefix
            # that fits rather than guess it.
            question, low, high = value.question, 0, len(value.question)
            while low < high:
                middle = (low + high + 1) // 2
                if value._asking(question[:middle])._fits():
                    low = middle
                else:
                    high = middle - 1
            value = value._asking(question[:low])
        return value.encode(MAX_BUTTON_VALUE)

    def _asking(self, question: str) -> FeedbackValue:
        return self.model_copy(update={"question": question or None})

    def _fits(self) -> bool:
        return len(self.model_dump_json(exclude_none=True, exclude_defaults=True)) <= (
            MAX_BUTTON_VALUE
        )


class ReasonState(_Carried):
    """The "What was wrong?" modal's private_metadata: the 👎 vote the reason belongs to, as it
    was stored (`voted_at` says which vote, so a reason never attaches to a later one)."""

    message_key: str = Field(min_length=1)
    kind: Literal["entry", "recommendation"]
    target: str = Field(min_length=1)
    question: str | None = None
    voted_at: datetime
    question_id: str | None = None
    recommendation_id: str | None = None

    def encode_metadata(self) -> str:
        return self.encode(MAX_PRIVATE_METADATA)
