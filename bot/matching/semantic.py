"""The semantic signal: sentence vectors from a static embedding model, so that "who runs django
in production" lands near "companies that use Django" although they share one word.

The model (bot/matching/model/) is all-MiniLM-L6-v2 distilled by model2vec into a table of
token vectors (scripts/build-embedding-model rebuilds it): a sentence's vector is the mean of
its tokens' vectors, so encoding a message costs a fraction of a millisecond and no
transformer, torch or network is involved at run time. It is loaded once per process from the
package folder, offline.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parent / "model"

Vectors = npt.NDArray[np.float32]

MAX_KNOWN_TEXTS = 50_000
"""Knowledge texts whose vectors are remembered (256 float32 each: about 50 MB at most)."""


class SentenceEncoder(Protocol):
    """Turns texts into unit-length vectors (one row per text)."""

    def encode(self, texts: Sequence[str]) -> Vectors: ...

    def encode_known(self, texts: Sequence[str]) -> Vectors:
        """`encode` for texts that recur (the knowledge's), which may be remembered."""
        ...

    def is_word(self, word: str) -> bool:
        """Whether `word` is a whole word of the model's vocabulary (an English or tech word
        in its own right, which the typo corrector must leave alone)."""
        ...


class StaticEncoder:
    """A model2vec static model loaded from a local folder."""

    def __init__(self, folder: Path = MODEL_DIR) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder; never ask a hub
        # One message is a few dozen tokens: the tokenizer's and BLAS's worker threads cost
        # more to wake than the work, and on a busy machine they made p99 four times p50.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        threadpool_limits(limits=1, user_api="blas")
        from model2vec import StaticModel

        self._model = StaticModel.from_pretrained(folder, force_download=False, normalize=True)
        self._vocabulary = frozenset(
            token for token in self._model.tokenizer.get_vocab() if token.isalpha()
        )
        self.dimensions = int(self._model.dim)
        self._known: dict[str, Vectors] = {}
        self._known_lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        vectors = self._model.encode(list(texts), use_multiprocessing=False)
        return _unit_rows(np.asarray(vectors, dtype=np.float32))

    def encode_known(self, texts: Sequence[str]) -> Vectors:
        """`encode` for the knowledge's own texts, remembered per text: a reload, or another
        matcher on the same knowledge, embeds only the texts that changed."""
        with self._known_lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._known))
            if missing:
                if len(self._known) + len(missing) > MAX_KNOWN_TEXTS:
                    self._known.clear()
                self._known.update(zip(missing, self.encode(missing), strict=True))
            if not texts:
                return np.zeros((0, self.dimensions), dtype=np.float32)
            return np.stack([self._known[text] for text in texts])

    def is_word(self, word: str) -> bool:
        return word in self._vocabulary


def _unit_rows(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: Vectors = vectors / norms
    return unit


_shared: StaticEncoder | None = None
_shared_failed = False
_shared_lock = threading.Lock()


def shared_encoder() -> StaticEncoder | None:
    """The process's one encoder, loaded on first use; None (logged once) when the model
    folder is missing or unreadable, in which case matching is lexical only."""
    global _shared, _shared_failed
    with _shared_lock:
        if _shared is None and not _shared_failed:
            try:
                _shared = StaticEncoder()
            except Exception as error:  # a missing or broken model must not stop the bot
                _shared_failed = True
                log.warning(
                    "The embedding model in %s could not be loaded (%s); matching is lexical "
                    "only. Rebuild it with scripts/build-embedding-model.",
                    MODEL_DIR,
                    error,
                )
        return _shared


def columns(vectors: Vectors) -> Vectors:
    """Unit rows laid out as contiguous columns, the form `cosine` multiplies fastest (a
    transposed view costs BLAS a copy on every call: 1.7 ms instead of 0.2 for 5,000 rows)."""
    laid_out: Vectors = np.ascontiguousarray(vectors.T)
    return laid_out


def cosine(vectors: Vectors, other_columns: Vectors) -> npt.NDArray[np.float32]:
    """Cosine similarity of unit rows with `columns(others)`: a (len(vectors), len(others))
    matrix."""
    return np.asarray(vectors @ other_columns, dtype=np.float32)
