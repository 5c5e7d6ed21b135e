"""The lexical signal: how much of an entry's wording a message shares, rare words counting most.

How a text is scored:

1. `content_words` drops function words, so "what is X" and "what is Y" are compared on X and
   Y, not on the words they share; words are stemmed with Snowball (PyStemmer).
2. A word the knowledge does not know is corrected to the closest known word within a small
   edit distance (rapidfuzz OSA, where a transposition is one edit): "djnago" reads as "django".
   A word that is a real English or tech word in its own right (a whole word of the embedding
   model's vocabulary: "slack", "flash") is never corrected.
3. Every entry offers choices: its phrasings, title and keywords, pre-processed once. A choice's
   score blends
   - 70% *weighted word overlap*: the F1 of the text's and the choice's stems, each weighted by
     its IDF across entries. Rare words ("alembic", "csrf") count far more than words most
     entries share ("django", "flask"); a word the knowledge has never seen weighs
     `UNKNOWN_WORD_SHARE` of the rarest known one, so context words lower a score without
     drowning it;
   - 30% `fuzz.token_sort_ratio` of the content words: character-level (typos and word forms
     the stemmer misses still earn credit) and order-free.
4. An entry scores as its best choice, plus what the text's words that the entry holds in its
   other choices would have added to that choice's overlap.

The matcher (matcher.py) scores a message as a whole and sentence by sentence, and fuses this
signal with the semantic one.

Speed: an inverted index from stems to choices yields the candidates and their overlaps, rarest
stem first; only the `_RESCORED_CANDIDATES` best by overlap are scored character by character.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import repeat

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.knowledge import KnowledgeBase
from bot.matching.text import STOPWORDS, content_words, stem

CHOICE_OVERLAP_SHARE = 0.7
"""Share of a choice's score from the weighted word overlap; the rest is token_sort_ratio."""

UNKNOWN_WORD_SHARE = 0.5
"""What a word the knowledge has never seen weighs, as a share of the rarest known word's
weight. At 1.0 (the old rule) every word of context counted as much as "alembic", so a real
message with a sentence of context scored below the threshold; at 0 "is express.js good for
rest apis" would ride on its last two words. Tuned on the tuning half of the evaluation."""

_RESCORED_CANDIDATES = 30
# Past this many candidates a commoner stem no longer brings in new ones. On the benchmark's
# synthetic questions and the evaluation set, answers equal those of an exhaustive pass.
_CANDIDATE_POOL = 300
MAX_WORDS = 100
"""Content words read from one text: enough for a question, not a pasted log."""

_STOPWORD_LEXICON = tuple(sorted(STOPWORDS))
_MAX_CORRECTIONS_KEPT = 50_000


def _f1(overlap: float, first_weight: float, second_weight: float) -> float:
    """Weighted F1 (0..100) of two word sets sharing `overlap` of their weights."""
    if not overlap:
        return 0.0
    return 200 * overlap / (first_weight + second_weight)


@dataclass(frozen=True)
class Terms:
    """A text as the scorer compares it: content words, their stems and the stems' weight."""

    text: str
    stems: frozenset[str]
    weight: float


@dataclass(frozen=True)
class _Choice:
    terms: Terms
    entries: tuple[int, ...]


class LexicalScorer:
    """Scores texts against every entry's wording; build once per knowledge base."""

    def __init__(
        self, kb: KnowledgeBase, is_real_word: Callable[[str], bool] = lambda word: False
    ) -> None:
        self._is_real_word = is_real_word
        choice_entries: dict[str, set[int]] = defaultdict(set)
        entry_stems: list[set[str]] = [set() for _ in kb.entries]
        for index, entry in enumerate(kb.entries):
            for text in (*entry.phrasings, entry.title, *entry.keywords):
                words = content_words(text)
                if words:
                    choice_entries[" ".join(words)].add(index)
                    entry_stems[index].update(stem(word) for word in words)
        entries_with: dict[str, int] = defaultdict(int)
        for stems in entry_stems:
            for word_stem in stems:
                entries_with[word_stem] += 1
        entry_count = max(len(kb.entries), 1)
        self._idf = {s: math.log(1 + entry_count / n) for s, n in entries_with.items()}
        self._unknown_weight = UNKNOWN_WORD_SHARE * math.log(1 + entry_count)
        self._entry_stems = tuple(frozenset(stems) for stems in entry_stems)

        choices: list[_Choice] = []
        postings: dict[str, list[int]] = defaultdict(list)
        for text, entry_ids in choice_entries.items():
            terms = self.terms(text.split())
            for word_stem in terms.stems:
                postings[word_stem].append(len(choices))
            choices.append(_Choice(terms, tuple(sorted(entry_ids))))
        self._choices = tuple(choices)
        self._choice_weights = tuple(choice.terms.weight for choice in choices)
        self._postings = {s: frozenset(ids) for s, ids in postings.items()}
        self.known_words = frozenset(word for text in choice_entries for word in text.split())
        self._lexicon = tuple(sorted(self.known_words | STOPWORDS))
        self._corrections: dict[str, str] = {}

    def knows(self, word: str) -> bool:
        """Whether `word` (or its stem) occurs in the knowledge's wording."""
        return word in self.known_words or stem(word) in self._postings

    def question_terms(self, text: str) -> Terms:
        """The content words of `text`, typos corrected, as the scorer compares them."""
        words = [self.correct(word) for word in content_words(text)[:MAX_WORDS]]
        return self.terms([word for word in words if word not in STOPWORDS])

    def similarity(self, first: Terms, second: Terms) -> float:
        """The blended score (0..100) of two texts' terms."""
        if not first.text or not second.text:
            return 0.0
        overlap = self._weight(first.stems & second.stems)
        return _blend(
            _f1(overlap, first.weight, second.weight),
            fuzz.token_sort_ratio(first.text, second.text, processor=None),
        )

    def terms(self, words: list[str]) -> Terms:
        stems = frozenset(stem(word) for word in words)
        return Terms(" ".join(words), stems, self._weight(stems))

    def _weight(self, stems: Iterable[str]) -> float:
        return sum(map(self._idf.get, stems, repeat(self._unknown_weight)))

    def scores(self, text: str) -> dict[int, float]:
        """Entry index -> score (0..100) for the entries `text` shares any word with."""
        question = self.question_terms(text)
        if not question.text:
            return {}
        overlaps = self._overlaps(question)
        if not overlaps:
            return {}
        choices = self._choices
        if len(overlaps) > _RESCORED_CANDIDATES:
            weights = self._choice_weights
            ranked = [
                (overlap / (question.weight + weights[index]), index)
                for index, overlap in overlaps.items()
            ]
            overlaps = {
                index: overlaps[index] for _, index in heapq.nlargest(_RESCORED_CANDIDATES, ranked)
            }
        character_scores = process.extract(
            question.text,
            {index: choices[index].terms.text for index in overlaps},
            scorer=fuzz.token_sort_ratio,
            processor=None,
            limit=None,
        )
        best: dict[int, tuple[float, float, float]] = {}
        for _, character_score, choice_index in character_scores:
            overlap = overlaps[choice_index]
            choice_weight = choices[choice_index].terms.weight
            score = _blend(_f1(overlap, question.weight, choice_weight), character_score)
            for entry_index in choices[choice_index].entries:
                if score > best.get(entry_index, (0.0, 0.0, 0.0))[0]:
                    best[entry_index] = (score, overlap, choice_weight)
        question_weights = {s: self._idf.get(s, self._unknown_weight) for s in question.stems}
        scored: dict[int, float] = {}
        for entry_index, (choice_score, overlap, choice_weight) in best.items():
            # Question words this entry holds in its other choices count as if the best choice
            # held them too.
            shared = question.stems & self._entry_stems[entry_index]
            elsewhere = sum(map(question_weights.__getitem__, shared)) - overlap
            gain = _f1(overlap + elsewhere, question.weight, choice_weight + elsewhere) - _f1(
                overlap, question.weight, choice_weight
            )
            scored[entry_index] = min(100.0, choice_score + CHOICE_OVERLAP_SHARE * gain)
        return scored

    def _overlaps(self, question: Terms) -> dict[int, float]:
        """The weight each candidate choice shares with the question. Stems are taken rarest
        first (they weigh most); a stem whose choices would take the candidates past
        `_CANDIDATE_POOL` only adds its weight to the candidates it shares, rather than bringing
        in every choice that contains "django"."""
        overlaps: dict[int, float] = {}
        postings = self._postings
        for word_stem in sorted(question.stems & postings.keys(), key=lambda s: len(postings[s])):
            weight = self._idf[word_stem]
            if not overlaps:
                overlaps = dict.fromkeys(postings[word_stem], weight)
                continue
            posting = postings[word_stem]
            if len(overlaps) + len(posting) > _CANDIDATE_POOL:
                posting = posting & overlaps.keys()
            for index in posting:
                overlaps[index] = overlaps.get(index, 0.0) + weight
        return overlaps

    def correct(self, word: str) -> str:
        """`_correct`, remembered: the lexical and semantic signals both ask for each word."""
        found = self._corrections.get(word)
        if found is None:
            found = self._correct(word)
            if len(self._corrections) < _MAX_CORRECTIONS_KEPT:
                self._corrections[word] = found
        return found

    def _correct(self, word: str) -> str:
        """`word`, or the known word it is most likely a typo of. Words of five letters or more
        may be one edit away from it (two from eight letters); four-letter words are corrected
        to function words only ("waht" -> "what"), since one edit turns one short word into
        another ("cool" -> "tool", "next" -> "test"). A real word ("slack", "flash", "cost") is
        kept."""
        if word in self.known_words or word in STOPWORDS or stem(word) in self._postings:
            return word
        if len(word) >= 4 and self._is_real_word(word):
            return word
        if len(word) >= 5:
            lexicon, edits = self._lexicon, 1 if len(word) < 8 else 2
        elif len(word) == 4:
            lexicon, edits = _STOPWORD_LEXICON, 1
        else:
            return word
        found = process.extractOne(
            word, lexicon, scorer=OSA.distance, processor=None, score_cutoff=edits
        )
        return found[0] if found else word


def _blend(overlap_score: float, character_score: float) -> float:
    return CHOICE_OVERLAP_SHARE * overlap_score + (1 - CHOICE_OVERLAP_SHARE) * character_score
