"""What every listener needs from the core, built once per app: the knowledge, the matcher,
the event deduplicator, and the Slack sender."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.advisor import Recommendation, advise
from bot.knowledge import KnowledgeBase
from bot.matching import Matcher
from bot.render.blocks import Message, match_message
from bot.slack.dedupe import EventDeduplicator
from bot.slack.delivery import Slack

MAX_QUESTION_CHARS = 1000
"""Only this much of a question is matched: no real question is longer, and a 40,000-character
paste must not tie up a worker."""


@dataclass(frozen=True)
class Engine:
    kb: KnowledgeBase
    matcher: Matcher
    dedupe: EventDeduplicator
    slack: Slack

    def answer(self, text: str) -> Message:
        """The answer to a free-text question, or an honest "not sure" with closest topics."""
        question = text[:MAX_QUESTION_CHARS]
        return match_message(self.kb, self.matcher.match(question), question)

    def recommend(self, answers: Mapping[str, Sequence[str]]) -> Recommendation:
        """The recommendation for complete answers; raises AnswerError otherwise."""
        return advise(self.kb, answers)
