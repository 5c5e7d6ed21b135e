"""Message metadata: what a message the bot posts is, carried by the message itself
(`metadata.event_type` and `event_payload`), so a later click, an export or an audit knows it
without reading the blocks. Every message the bot posts carries one of `POSTED_EVENT_TYPES`,
with the knowledge version it was made from (`knowledge_version`):

- `framework_answer`: an answer (`kind` "entry", `target` the entry, `outcome` "answered") or a
  "not sure" (`outcome` "not_sure", no target, `closest` the topic ids offered), with the
  question as asked and its id in the store (`question_id`, `questions.uid`);
- `framework_recommendation`: a questionnaire's result (`target` the framework, `verdict`,
  `answers`, `recommendation_id` = `recommendations.uid` where it was stored);
- `framework_lean`: the reply to a project description (`answers` read from it, `leader`);
- `framework_intent`: small talk, a question about the bot, or the help (`intent`);
- `framework_reply`: another `/framework` reply (`reply` the subcommand: companies, stats, …);
- `framework_decision`: a team decision's message or its record (`decision_id`, `status`);
- `framework_digest`: the curators' weekly digest (`week` the ISO week, `team_id`);
- `framework_notice`: a line telling one person something (a problem, a thank-you).

Every reply to a question typed at the bot that the durable inbox keeps (a mention, a DM, the
message shortcut) also names that question, `question_id`: for an answer or a "not sure" it
is the stored question's id; for small talk, the help or a lean (not stored) it is only the id
the inbox knows the reply by, so that a reply that reached Slack before its process died is
found there rather than sent again (bot/slack/platform/reply_check.py).

Slack keeps metadata on chat.postMessage and chat.update messages (and a response URL's
replacement of one); ephemeral messages carry none, so readers fall back to the buttons.
Payloads stay flat: strings, numbers, lists of strings and (for answers) one object of lists;
a fact without a value is left out rather than sent as null.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from slack_sdk.models.metadata import Metadata

from bot.slack.wire.state import FeedbackValue

ANSWER_EVENT = "framework_answer"
RECOMMENDATION_EVENT = "framework_recommendation"
LEAN_EVENT = "framework_lean"
INTENT_EVENT = "framework_intent"
REPLY_EVENT = "framework_reply"
DECISION_EVENT = "framework_decision"
DIGEST_EVENT = "framework_digest"
NOTICE_EVENT = "framework_notice"
EVENT_TYPES = {"entry": ANSWER_EVENT, "recommendation": RECOMMENDATION_EVENT}
"""The event types of rated messages (MessageFacts), by what is rated."""
POSTED_EVENT_TYPES = frozenset(
    {
        ANSWER_EVENT,
        RECOMMENDATION_EVENT,
        LEAN_EVENT,
        INTENT_EVENT,
        REPLY_EVENT,
        DECISION_EVENT,
        DIGEST_EVENT,
        NOTICE_EVENT,
    }
)
"""Every event_type a message the bot posts may carry."""

Fact = str | int | bool | Sequence[str] | Mapping[str, Sequence[str]] | None
"""One value of an event_payload; None (and an empty list or object) is left out."""


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
    recommendation_id: str | None = None

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
            recommendation_id=value.recommendation_id,
        )

    def to_metadata(self) -> Metadata:
        payload = self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        payload["kind"], payload["target"] = self.kind, self.target
        if self.kind == "entry":
            payload["outcome"] = "answered"
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
                "recommendation_id": self.recommendation_id,
            }
        )


def message_metadata(event_type: str, knowledge_version: str, **facts: Fact) -> Metadata:
    """The metadata of a message that is not rated (see the module's list): `event_type` one
    of POSTED_EVENT_TYPES, and `facts` with their values, empty ones left out."""
    if event_type not in POSTED_EVENT_TYPES:
        raise ValueError(f"{event_type!r} is not one of the bot's metadata event types")
    payload: dict[str, Any] = {"knowledge_version": knowledge_version}
    for name, value in facts.items():
        if value is None or (not isinstance(value, str | int) and not value):
            continue
        if isinstance(value, Mapping):
            payload[name] = {key: list(items) for key, items in value.items()}
        elif isinstance(value, str | int):  # bool is an int
            payload[name] = value
        else:
            payload[name] = list(value)
    return Metadata(event_type=event_type, event_payload=payload)


def naming_question(metadata: Metadata, question_id: str) -> Metadata:
    """`metadata` with `question_id` in its payload (see the module's docstring)."""
    payload = metadata.event_payload
    facts = dict(payload) if isinstance(payload, Mapping) else {}
    facts["question_id"] = question_id
    return Metadata(event_type=metadata.event_type, event_payload=facts)


def not_sure_metadata(
    knowledge_version: str, question: str, question_id: str | None, closest: Sequence[str]
) -> Metadata:
    """A "not sure" reply: the question as asked, its id in the store and the topics offered."""
    return message_metadata(
        ANSWER_EVENT,
        knowledge_version,
        kind="entry",
        outcome="not_sure",
        question=question or None,
        question_id=question_id,
        closest=closest,
    )
