"""Small talk and questions about the bot ("hi", "thanks!", "what can you do", "recommend").

A message reads as an intent when it is close to one of the intent's examples, character by
character over all its words (function words included: "what can you do" is nothing but
function words) or in meaning, and says nothing else: every word of it that is not a function
word must occur in that intent's examples, bar `MAX_OTHER_WORDS`. So "thanks, that helped!" is
thanks, while "recommend me a good gaming laptop" is not a request for the questionnaire.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.knowledge import Intent
from bot.matching.semantic import SentenceEncoder, columns, cosine
from bot.matching.text import STOPWORDS, stem, words

MAX_OTHER_WORDS = 1
"""Content words a message may hold beyond its intent's vocabulary ("thanks @bob" counts one)."""

MAX_INTENT_WORDS = 12
"""Longer messages are questions or descriptions, never small talk."""

CHARACTER_SHARE = 0.5
"""Share of an intent's score from character similarity; the rest is semantic similarity."""


@dataclass(frozen=True)
class IntentMatch:
    intent: Intent
    score: float
    """0..100: the better of the character and blended similarity to its closest example."""


class IntentMatcher:
    """Scores messages against the intents' examples; build once per knowledge base."""

    def __init__(self, intents: Sequence[Intent], encoder: SentenceEncoder | None) -> None:
        self._encoder = encoder
        self._examples: list[tuple[Intent, str]] = [
            (intent, " ".join(words(example))) for intent in intents for example in intent.examples
        ]
        self._vocabulary = {
            intent.id: frozenset(
                stem(word) for example in intent.examples for word in words(example)
            )
            for intent in intents
        }
        texts = [text for _, text in self._examples]
        self._vectors = (
            columns(encoder.encode_known(texts)) if encoder is not None and texts else None
        )

    def match(self, text: str) -> IntentMatch | None:
        """The closest intent whose vocabulary covers the message, or None."""
        message_words = words(text)
        if not message_words or len(message_words) > MAX_INTENT_WORDS or not self._examples:
            return None
        normal = " ".join(message_words)
        character = process.extract(
            normal, [example for _, example in self._examples], scorer=fuzz.ratio, limit=None
        )
        character_scores = [0.0] * len(self._examples)
        for _, score, index in character:
            character_scores[index] = score
        if self._vectors is not None and self._encoder is not None:
            semantic = cosine(self._encoder.encode([normal]), self._vectors)[0]
            semantic_scores = [max(0.0, float(value)) * 100 for value in semantic]
        else:
            semantic_scores = character_scores
        best: dict[str, tuple[float, Intent]] = {}
        for index, (intent, _) in enumerate(self._examples):
            blended = (
                CHARACTER_SHARE * character_scores[index]
                + (1 - CHARACTER_SHARE) * semantic_scores[index]
            )
            score = max(character_scores[index], blended)
            if score > best.get(intent.id, (-1.0, intent))[0]:
                best[intent.id] = (score, intent)
        content = {stem(word) for word in message_words if word not in STOPWORDS}
        covered = [
            (score, intent)
            for score, intent in best.values()
            if len(content - self._vocabulary[intent.id]) <= MAX_OTHER_WORDS
        ]
        if not covered:
            return None
        score, intent = max(covered, key=lambda pair: pair[0])
        return IntentMatch(intent, round(score, 1))
