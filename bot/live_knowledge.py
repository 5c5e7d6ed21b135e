"""The knowledge an instance serves, replaceable while it runs.

`/framework reload` loads KNOWLEDGE_DIR again: a folder that does not load is refused with its
problems and the last good knowledge stays in service. Each loaded version has a stamp (a hash
of the folder's files). The instance that ran the reload publishes its stamp in the store; every
instance follows the store (`follow`, every KNOWLEDGE_SYNC_SECONDS) and, when a newer stamp
appears there, reloads its own folder, so one curator's reload reaches every instance (and every
gunicorn worker: each builds its own app and follows on its own) that serves the same files.

The stamp in the store means "the knowledge a curator last reloaded", nothing else: an instance
does NOT publish its stamp when it starts. In a rolling deploy that ships new knowledge files,
new instances would otherwise announce the new stamp and make every old instance re-read its
(old) folder and warn, and an old instance restarted mid-deploy would announce the old stamp to
the new ones. Instead, an instance reads the published stamp when it starts following and takes
it as already seen: it has just loaded its folder, which is at least as new as that reload. Only
stamps published after that make it reload. When the folder has changed since the instance
loaded it, a reload may have been published in between, so the stamp is not taken as seen. When
the store cannot be read at that moment, the first stamp it does read is acted on (a reload of an
unchanged folder costs nothing, a missed reload would serve stale answers). An instance whose
folder still differs from the published stamp after reloading serves other files than the
curator's instance: it logs a warning once per published stamp and keeps serving what it has.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

from bot.knowledge import DEFAULT_KNOWLEDGE_DIR, KnowledgeBase, KnowledgeError, load_knowledge
from bot.matching import Matcher, matcher_for
from bot.render.answers import AnswerBodies
from bot.store import StoreUnavailable

log = logging.getLogger(__name__)

MIN_SYNC_SECONDS = 0.01
"""Floor for the follow interval, so a misconfigured 0 cannot spin a core."""


class StampStore(Protocol):
    """The part of the store that carries knowledge versions between instances.
    `get_knowledge_stamp` raises StoreUnavailable when the database is down; `when_closed`
    has a follower stopped as the store closes."""

    def when_closed(self, stop: Callable[[], None]) -> None: ...

    def get_knowledge_stamp(self) -> str | None: ...

    def set_knowledge_stamp(self, stamp: str) -> None: ...


@dataclass(frozen=True)
class Snapshot:
    """One loaded version of the knowledge, with its matcher: listeners take one snapshot per
    request, so a reload never changes the knowledge under a request being answered."""

    kb: KnowledgeBase
    matcher: Matcher
    stamp: str
    answer_bodies: AnswerBodies = field(init=False, compare=False, repr=False)
    """The rendered answers of this knowledge, made as they are first needed."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "answer_bodies", AnswerBodies(self.kb))


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
        self._sync_lock = threading.Lock()
        stamp = folder_stamp(self.directory)
        kb = kb if kb is not None else load_knowledge(self.directory)
        self._snapshot = Snapshot(kb, matcher_for(kb), stamp)
        self._seen_stamp: str | None = None
        """The published stamp this instance last acted on (or took as seen at start)."""
        self._store_down_logged = False
        self._follower: Follower | None = None

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
            self._snapshot = Snapshot(kb, matcher_for(kb), stamp)
            log.info("Knowledge %s loaded from %s", stamp, self.directory)
            return self._snapshot

    # -- following the other instances ---------------------------------------------------------

    def mark_seen(self, store: StampStore) -> None:
        """Take the stamp published now as already seen (see the module docstring); when the
        store cannot be read, the first stamp read later is acted on instead."""
        published = self._read_stamp(store)
        if published is None:
            return
        if folder_stamp(self.directory) != self._snapshot.stamp:
            # The folder changed since it was loaded: a reload may have been published in
            # between (a gunicorn worker still booting), so the first sync acts on the stamp.
            return
        with self._sync_lock:
            self._seen_stamp = published
        if published != self._snapshot.stamp:
            log.info(
                "Serving knowledge %s from %s; the last reload published %s",
                self._snapshot.stamp,
                self.directory,
                published,
            )

    def sync(self, store: StampStore) -> bool:
        """Follow a reload published by another instance: when the store's stamp differs from
        the one this instance serves and from the last one it acted on, reload the folder if
        its files changed. True when new knowledge was loaded. Never raises for a store that
        is down (logged once per outage) or a folder that does not load (logged)."""
        published = self._read_stamp(store)
        if published is None:
            return False
        with self._sync_lock:
            if published in {self._snapshot.stamp, self._seen_stamp}:
                return False
            self._seen_stamp = published
            loaded = False
            if folder_stamp(self.directory) != self._snapshot.stamp:
                try:
                    self.reload()
                    loaded = True
                except KnowledgeError as error:
                    log.error(
                        "Knowledge %s was published, but %s does not load; still serving %s. %s",
                        published,
                        self.directory,
                        self._snapshot.stamp,
                        error,
                    )
                    return False
            if self._snapshot.stamp != published:
                log.warning(
                    "Knowledge %s was published by another instance, but %s holds other files "
                    "(%s): this instance serves different knowledge from that reload",
                    published,
                    self.directory,
                    self._snapshot.stamp,
                )
            return loaded

    def _read_stamp(self, store: StampStore) -> str | None:
        """The published stamp, or None when there is none or the store is down."""
        try:
            published = store.get_knowledge_stamp()
        except StoreUnavailable as error:
            if not self._store_down_logged:
                self._store_down_logged = True
                log.warning("Cannot check for reloaded knowledge: %s", error)
            return None
        if self._store_down_logged:
            self._store_down_logged = False
            log.info("Checking for reloaded knowledge again")
        return published

    def follow(self, store: StampStore, interval: float) -> Follower:
        """Take the current published stamp as seen, then `sync` every `interval` seconds on
        a daemon thread until the Follower is stopped or this LiveKnowledge is garbage."""
        self.mark_seen(store)
        if self._follower is not None:
            self._follower.stop()
        self._follower = Follower(self, store, interval)
        # A closed store's database may be gone (a test's schema dropped): no more syncs.
        store.when_closed(partial(self._follower.stop, timeout=0))
        return self._follower


class Follower:
    """The thread that syncs a LiveKnowledge with the store until it is stopped (at the latest
    when the store closes). It holds the knowledge weakly, so an app that is thrown away (as
    tests do) does not keep a thread busy for ever."""

    def __init__(self, knowledge: LiveKnowledge, store: StampStore, interval: float) -> None:
        self.interval = max(interval, MIN_SYNC_SECONDS)
        self._knowledge = weakref.ref(knowledge)
        self._store = store
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="knowledge-sync", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop syncing and wait (up to `timeout` seconds) for a sync in progress to end."""
        self._stopped.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            knowledge = self._knowledge()
            if knowledge is None:
                return
            try:
                knowledge.sync(self._store)
            except Exception:
                log.exception("Checking for reloaded knowledge failed; trying again later")
            del knowledge
