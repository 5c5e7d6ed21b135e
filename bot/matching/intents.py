"""Small talk and questions about the bot ("hi", "thanks!", "what can you do", "recommend").

A message reads as an intent when it is close to one of the intent's examples, character by
character over all its words (function words included: "what can you do" is nothing but
function words) or in meaning, and says nothing else: every word of it that is not a function
word must occur in that intent's examples, bar `MAX_OTHER_WORDS`. So "thanks, that helped!" is
thanks, while "recommend me a good gaming laptop" is not a request for the questionnaire.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from bot.knowledge import Intent
from bot.matching.semantic import SentenceEncoder, columns, cosine
from bot.matching.text import STOPWORDS, stem, words

MAX_OTHER_WORDS = 1
"""Content words a message may hold beyond its intent's vocabulary ("thanks @bob" counts one)."""

MAX_INTENT_WORDS = 16
"""Longer messages are questions or descriptions, never small talk. Polite requests run long
("could you ask me some questions to help us decide which framework we should use" is 15
words); that every content word be the intent's (MAX_OTHER_WORDS) is the stronger guard."""

CHARACTER_SHARE = 0.5
"""Share of an intent's score from character similarity; the rest is semantic similarity."""

_CLAUSE_END = re.compile(r"[.!?,;:]+(?=\s|$)|\s[-\u2013\u2014]+\s|\n+")
"""Where a clause ends: sentence punctuation or a comma before a space, a dash between spaces,
a line break ("hey :wave: - quick one", "thanks, that helped")."""


def clauses(text: str) -> list[str]:
    """The clauses of `text` that hold a word, in order."""
    return [part.strip() for part in _CLAUSE_END.split(text) if words(part)]


@dataclass(frozen=True)
class IntentMatch:
    intent: Intent
    score: float
    """0..100: the better of the character and blended similarity to its closest example."""
    rest: str = ""
    """When one clause of the message matched: the message's other clauses."""
    others: int = 0
    """Content words of the message that the intent's examples never use."""


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
        self._every_vocabulary = frozenset().union(*self._vocabulary.values())
        self._vectors = (
            columns(encoder.encode_known(self._texts))
            if encoder is not None and self._texts
            else None
        )

    def match(self, text: str) -> IntentMatch | None:
        """The closest intent whose vocabulary covers the whole message, or None."""
        return self._match_all([text])[0]

    def words_beyond(self, intent: Intent, text: str) -> list[str]:
        """The content words of `text` that none of `intent`'s examples uses: what a message
        says besides that intent ("I'd like a recommendation for our project" says nothing
        besides asking for the questionnaire)."""
        return _beyond(words(text), self._vocabulary.get(intent.id, frozenset()))

    def words_beyond_every(self, text: str) -> list[str]:
        """The content words of `text` that no intent's examples use: what it says besides
        small talk of any kind."""
        return _beyond(words(text), self._every_vocabulary)

    def match_clauses(self, text: str) -> list[IntentMatch]:
        """For a message of several clauses, each clause's closest intent whose vocabulary
        covers that clause, with the other clauses as its `rest`; best first."""
        parts = clauses(text)
        if len(parts) < 2:
            return []
        found = []
        for index, match in enumerate(self._match_all(parts)):
            if match is not None:
                rest = " ".join(parts[:index] + parts[index + 1 :])
                found.append(IntentMatch(match.intent, match.score, rest, match.others))
        return sorted(found, key=lambda match: -match.score)

    def _match_all(self, texts: list[str]) -> list[IntentMatch | None]:
        normals = [" ".join(words(text)) for text in texts]
        scorable = [
            index
            for index, normal in enumerate(normals)
            if normal and len(normal.split()) <= MAX_INTENT_WORDS
        ]
        results: list[IntentMatch | None] = [None] * len(texts)
        if not scorable or not self._texts:
            return results
        semantic_rows = None
        if self._vectors is not None and self._encoder is not None:
            semantic_rows = cosine(
                self._encoder.encode([normals[index] for index in scorable]), self._vectors
            )
        for row, index in enumerate(scorable):
            semantic = semantic_rows[row] if semantic_rows is not None else None
            results[index] = self._closest(normals[index], semantic)
        return results

    def _closest(self, normal: str, semantic: npt.NDArray[np.float32] | None) -> IntentMatch | None:
        """The intent closest to `normal` (a clause's words) whose vocabulary covers it, all
        examples scored in one vectorised pass."""
        character = process.cdist([normal], self._texts, scorer=fuzz.ratio, dtype=np.float64)[0]
        meaning = (
            np.maximum(semantic.astype(np.float64), 0.0) * 100
            if semantic is not None
            else character
        )
        blended = CHARACTER_SHARE * character + (1 - CHARACTER_SHARE) * meaning
        best = np.maximum.reduceat(np.maximum(character, blended), self._starts)
        content = normal.split()
        covered = [
            (float(score), intent, others)
            for score, intent in zip(best, self._intents, strict=True)
            if (others := len({stem(w) for w in _beyond(content, self._vocabulary[intent.id])}))
            <= MAX_OTHER_WORDS
        ]
        if not covered:
            return None
        score, intent, others = max(covered, key=lambda found: found[0])
        return IntentMatch(intent, round(score, 1), others=others)


def _beyond(found: list[str], vocabulary: frozenset[str]) -> list[str]:
    """The content words of `found` whose stems `vocabulary` (an intent's) does not hold."""
    return [word for word in found if word not in STOPWORDS and stem(word) not in vocabulary]
