"""A re-ranking signal: BM25 (the `bm25s` package) over each entry's wording as one document.

The lexical signal (lexical.py) scores a message against each phrasing on its own, so an entry
one of whose phrasings happens to share a message's common words can outscore the entry the
message's rarer words point to. BM25 reads all of an entry's phrasings, title and keywords
together, with saturating term weights: an entry that says a word in many ways earns more for
it than one that says it once, but not without bound. Its score is used as a shortfall: the
entry BM25 ranks best loses nothing, and every other entry loses up to `WEIGHT` points in
proportion to how far behind it BM25 puts it. It never raises a score, so it cannot push a
message over the threshold; it breaks near-ties.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import bm25s
import numpy as np
import numpy.typing as npt

from bot.knowledge import KnowledgeBase
from bot.matching.text import content_words, stem

WEIGHT = 4.0
"""Most points an entry loses when BM25 puts it far behind the best (tuned on the tuning side:
3-6 gave the same answers within two messages of 737)."""

K1 = 1.2
B = 0.75
"""BM25's usual term-frequency saturation and length normalisation (Lucene's defaults)."""

# bm25s sets its own logger to DEBUG and logs every index it builds; a matcher is built at every
# knowledge load, and a debug log of the bot should not fill with it.
logging.getLogger("bm25s").setLevel(logging.WARNING)


class EntryRetrieval:
    """BM25 over the entries of one knowledge base; build once, then `shortfall` per text."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._entries = len(kb.entries)
        documents = [
            [
                stem(word)
                for text in (e.title, *e.phrasings, *e.keywords)
                for word in content_words(text)
            ]
            for e in kb.entries
        ]
        self._index = bm25s.BM25(k1=K1, b=B, method="lucene")
        if documents:
            self._index.index(documents, show_progress=False)

    def shortfall(self, stems: Sequence[str]) -> npt.NDArray[np.float32]:
        """Per entry, minus `WEIGHT` times how far behind BM25's best entry it scores for a
        text of these stems (0 for the best; all 0 when no entry holds any of them)."""
        penalty = np.zeros(self._entries, dtype=np.float32)
        if not stems or not self._entries:
            return penalty
        scores = np.asarray(self._index.get_scores(list(stems)), dtype=np.float32)
        best = float(scores.max())
        if best <= 0:
            return penalty
        penalty[:] = WEIGHT * (scores / best - 1.0)
        return penalty
