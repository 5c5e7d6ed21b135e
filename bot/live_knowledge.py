"""The knowledge an instance serves, replaceable while it runs.

`/framework reload` loads KNOWLEDGE_DIR again: a folder that does not load is refused with its
problems and the last good knowledge stays in service. Each loaded version has a stamp (a hash
of the folder's files); instances publish the stamp they loaded in the store, and an instance
that sees a newer stamp there reloads its own folder, so one curator's reload reaches every
instance that serves the same files.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.knowledge import DEFAULT_KNOWLEDGE_DIR, KnowledgeBase, load_knowledge
from bot.matching import Matcher

log = logging.getLogger(__name__)


class StampStore(Protocol):
    """The part of the store that carries knowledge versions between instances."""

    def get_knowledge_stamp(self) -> str | None: ...

    def set_knowledge_stamp(self, stamp: str) -> None: ...


@dataclass(frozen=True)
class Snapshot:
    """One loaded version of the knowledge, with its matcher: listeners take one snapshot per
    request, so a reload never changes the knowledge under a request being answered."""

    kb: KnowledgeBase
    matcher: Matcher
    stamp: str


def folder_stamp(directory: Path | str | None) -> str:
    """A short hash of every YAML file's name and bytes in the folder: equal folders, equal
    stamps, whichever machine reads them."""
    folder = Path(directory) if directory is not None else DEFAULT_KNOWLEDGE_DIR
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.y*ml")):
        if path.suffix not in {".yaml", ".yml"} or not path.is_file():
            continue
        digest.update(path.name.encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


class LiveKnowledge:
    """The current Snapshot of a knowledge folder, swapped atomically on reload."""

    def __init__(self, directory: Path | str | None, kb: KnowledgeBase | None = None) -> None:
        """Load `directory` (None: the bundled knowledge), or serve `kb` as its content.
        Raises KnowledgeError when the folder does not load."""
        self.directory = Path(directory) if directory is not None else DEFAULT_KNOWLEDGE_DIR
        self._lock = threading.Lock()
        stamp = folder_stamp(self.directory)
        kb = kb if kb is not None else load_knowledge(self.directory)
        self._snapshot = Snapshot(kb, Matcher(kb), stamp)

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    @property
    def kb(self) -> KnowledgeBase:
        return self._snapshot.kb

    def reload(self) -> Snapshot:
        """Load the folder again and serve it. Raises KnowledgeError (listing every problem
        with file, line and field) and keeps the current knowledge when it does not load."""
        with self._lock:
            stamp = folder_stamp(self.directory)
            kb = load_knowledge(self.directory)
            self._snapshot = Snapshot(kb, Matcher(kb), stamp)
            log.info("Knowledge %s loaded from %s", stamp, self.directory)
            return self._snapshot
