"""Message metadata: what a posted answer or recommendation was, carried by the message itself
(`metadata.event_type` and `event_payload`), so a later click, an export or an audit knows it
without reading the blocks. Slack keeps it on chat.postMessage and chat.update messages;
ephemeral messages and response-URL replies carry none, so readers fall back to the buttons.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from slack_sdk.models.metadata import Metadata

from bot.slack.wire.state import FeedbackValue

ANSWER_EVENT = "framework_answer"
RECOMMENDATION_EVENT = "framework_recommendation"
EVENT_TYPES = {"entry": ANSWER_EVENT, "recommendation": RECOMMENDATION_EVENT}


class MessageFacts(BaseModel):
    """The event_payload: the entry (or the recommended framework, its verdict and the
    answers), the question as asked and its id in the store (`questions.uid`), and the
    knowledge version it was answered from."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: Literal["entry", "recommendation"]
    target: str = Field(min_length=1)
    knowledge_version: str = ""
    question: str | None = None
    answers: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    verdict: str | None = None
    question_id: str | None = None

    @classmethod
    def of(cls, value: FeedbackValue, knowledge_version: str, verdict: str | None = None) -> Self:
        return cls(
            kind=value.kind,
            target=value.target,
            knowledge_version=knowledge_version,
            question=value.question,
            answers=value.answers,
            verdict=verdict,
            question_id=value.question_id,
        )

    def to_metadata(self) -> Metadata:
        payload = self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        payload["kind"], payload["target"] = self.kind, self.target
        return Metadata(event_type=EVENT_TYPES[self.kind], event_payload=payload)

    @classmethod
    def read(cls, metadata: dict[str, Any] | None) -> Self | None:
        """The facts in a message's `metadata` as Slack hands it back (in a click's
        `message`), or None when it has none of ours (an older message, an ephemeral one)."""
        if not isinstance(metadata, dict) or metadata.get("event_type") not in EVENT_TYPES.values():
            return None
        try:
            return cls.model_validate(metadata.get("event_payload") or {})
        except ValidationError:
            return None

    def rated(self, value: FeedbackValue) -> FeedbackValue:
        """`value` (a button's) with what is rated taken from these facts."""
        return value.model_copy(
            update={
                "kind": self.kind,
                "target": self.target,
                "question": self.question,
                "answers": self.answers,
                "question_id": self.question_id,
            }
        )
