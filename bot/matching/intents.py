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

import numpy as np
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
        self._intents = [intent for intent in intents if intent.examples]
        """The intents with examples, in order; their examples are consecutive in `_texts`."""
        self._texts = [
            " ".join(words(example)) for intent in self._intents for example in intent.examples
        ]
        self._starts = np.cumsum([0] + [len(intent.examples) for intent in self._intents[:-1]])
        self._vocabulary = {
            intent.id: frozenset(
                stem(word) for example in intent.examples for word in words(example)
            )
            for intent in intents
        }
        self._vectors = (
            columns(encoder.encode_known(self._texts))
            if encoder is not None and self._texts
            else None
        )

    def match(self, text: str) -> IntentMatch | None:
        """The closest intent whose vocabulary covers the message, or None."""
        message_words = words(text)
        if not message_words or len(message_words) > MAX_INTENT_WORDS or not self._texts:
            return None
        normal = " ".join(message_words)
        character = process.cdist([normal], self._texts, scorer=fuzz.ratio, dtype=np.float64)[0]
        if self._vectors is not None and self._encoder is not None:
            similarity = cosine(self._encoder.encode([normal]), self._vectors)[0]
            semantic = np.maximum(similarity.astype(np.float64), 0.0) * 100
        else:
            semantic = character
        blended = CHARACTER_SHARE * character + (1 - CHARACTER_SHARE) * semantic
        best = np.maximum.reduceat(np.maximum(character, blended), self._starts)
        content = {stem(word) for word in message_words if word not in STOPWORDS}
        covered = [
            (float(score), intent)
            for score, intent in zip(best, self._intents, strict=True)
            if len(content - self._vocabulary[intent.id]) <= MAX_OTHER_WORDS
        ]
        if not covered:
            return None
        score, intent = max(covered, key=lambda pair: pair[0])
        return IntentMatch(intent, round(score, 1))
