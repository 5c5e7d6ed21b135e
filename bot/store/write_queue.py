"""The write-behind queue: records wait here, in order, and one writer thread writes them.

Records are never written on the thread of the request that made them (a database that is
slow, locked or down must not hold up an answer or the next acknowledgement). `drain_once()`
writes one batch, oldest first, in one transaction; the thread calls it while records wait and
the database is worth trying, and `drain()` (flush, reads) calls it until nothing waits. A
batch the database cannot take goes back to the front; a record it rejects is written alone,
then dropped, counted and logged so one bad record cannot block the rest. The queue is
bounded: records pushed out of a full queue are counted and logged too.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from bot.store.availability import Availability, StoreUnavailable
from bot.store.engine import writing
from bot.store.statements import RecordKind, delete_team_rows, write_grouped

logger = logging.getLogger(__name__)

WRITE_BATCH = 200
WRITE_LINGER_SECONDS = 0.1
"""How long the writer lets records gather before writing them in one transaction: under load
one transaction carries many records instead of each taking the database's write lock. A
transaction costs the writer about 2 ms of CPU however few records it carries; records are
read by curators, and event claims by retries 3 seconds later, so 0.1 s later is as good."""
WORKSPACE_DELETION = "workspace deletion"


@dataclass(frozen=True)
class Write:
    kind: RecordKind
    team_id: str | None
    values: dict[str, Any]


class WriteQueue:
    """Bounded, ordered, thread-safe; it owns the database's `availability`. `prepare` runs
    before each transaction (the schema migration), `after_write` after each batch written
    (maintenance when it is due). `writer_thread=False` starts no thread: whoever holds the
    queue calls `drain_once()` as the thread would (tests stepping through an outage)."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_pending: int,
        retry_interval: float,
        log_interval: float,
        clock: Callable[[], float],
        prepare: Callable[[], None] = lambda: None,
        after_write: Callable[[], None] = lambda: None,
        writer_thread: bool = True,
    ) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self._engine = engine
        self.availability = Availability(
            retry_interval=retry_interval,
            log_interval=log_interval,
            clock=clock,
            waiting=self.waiting,
            dropped=self.dropped,
        )
        self._max_pending = max_pending
        self._retry_interval = retry_interval
        self._log_interval = log_interval
        self._clock = clock
        self._prepare = prepare
        self._after_write = after_write
        self._use_thread = writer_thread

        self._lock = threading.Lock()
        self._drain_lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        """Set by `close`: a writer lingering for more records stops at once."""
        self._thread: threading.Thread | None = None
        self._closed = False
        self._pending: deque[Write] = deque()
        self._deletions: list[str] = []
        self._in_flight = 0
        self._dropped = 0
        self._dropped_by_kind: Counter[str] = Counter()
        self._drop_logged_at: float | None = None

    # -- state -----------------------------------------------------------------------------

    def waiting(self) -> int:
        """Records and workspace deletions not yet written (including the batch in flight)."""
        with self._lock:
            return len(self._pending) + len(self._deletions) + self._in_flight

    def dropped(self) -> int:
        with self._lock:
            return self._dropped

    def _has_work(self) -> bool:
        with self._lock:
            return bool(self._pending or self._deletions)

    # -- adding ----------------------------------------------------------------------------

    def submit(self, write: Write) -> None:
        self._enqueue([write], at_front=False)
        self._start_thread()
        self._wake.set()

    def delete_team(self, team_id: str) -> None:
        """Forget the workspace's waiting records and queue the deletion of its rows, which
        runs before anything else in the next batch (it is never dropped)."""
        with self._lock:
            self._pending = deque(write for write in self._pending if write.team_id != team_id)
            if team_id not in self._deletions:
                self._deletions.append(team_id)

    def _enqueue(self, writes: list[Write], *, at_front: bool) -> None:
        dropped: Counter[str] = Counter()
        with self._lock:
            if at_front:
                self._pending.extendleft(reversed(writes))
            else:
                self._pending.extend(writes)
            while len(self._pending) > self._max_pending:
                dropped[self._pending.popleft().kind.value] += 1
        if dropped:
            self._count_dropped(dropped, reason="the write buffer is full")

    # -- writing ---------------------------------------------------------------------------

    def drain(self) -> bool:
        """Write batches until nothing waits (True) or the database fails (False), whatever
        the retry interval says."""
        while self._has_work():
            if not self.drain_once():
                return False
        return True

    def drain_once(self) -> bool:
        """Write the waiting deletions and up to WRITE_BATCH records, oldest first, in one
        transaction. False when the database could not be reached (the batch waits again)."""
        with self._drain_lock:
            with self._lock:
                deletions, self._deletions = self._deletions, []
                batch = [
                    self._pending.popleft() for _ in range(min(WRITE_BATCH, len(self._pending)))
                ]
                self._in_flight = len(deletions) + len(batch)
            if not deletions and not batch:
                return True
            try:
                with self.availability.attempt():
                    self._prepare()
                    with writing(self._engine) as connection:
                        for team_id in deletions:
                            delete_team_rows(connection, team_id)
                        write_grouped(connection, [(write.kind, write.values) for write in batch])
            except StoreUnavailable:
                self._give_back(deletions, batch)
                return False
            except Exception:
                if not self._write_one_by_one(deletions, batch):
                    return False
            with self._lock:
                self._in_flight = 0
        self._after_write()
        return True

    def _write_one_by_one(self, deletions: list[str], batch: list[Write]) -> bool:
        """After a batch failed for a reason other than the connection: each item in its own
        transaction. False if the database became unreachable meanwhile."""
        for index, team_id in enumerate(deletions):
            try:
                with self.availability.attempt(), writing(self._engine) as connection:
                    delete_team_rows(connection, team_id)
            except StoreUnavailable:
                self._give_back(deletions[index:], batch)
                return False
            except Exception:
                logger.exception("Could not delete the data of workspace %s", team_id)
                self._count_dropped(Counter([WORKSPACE_DELETION]), reason=None)
        for index, write in enumerate(batch):
            try:
                with self.availability.attempt(), writing(self._engine) as connection:
                    write.kind.write(connection, [write.values])
            except StoreUnavailable:
                self._give_back([], batch[index:])
                return False
            except Exception:
                logger.exception(
                    "The database rejected a %s record; it is dropped", write.kind.value
                )
                self._count_dropped(Counter([write.kind.value]), reason=None)
        return True

    def _give_back(self, deletions: list[str], batch: list[Write]) -> None:
        with self._lock:
            self._deletions = deletions + [t for t in self._deletions if t not in deletions]
            self._in_flight = 0
        self._enqueue(batch, at_front=True)

    def _count_dropped(self, kinds: Counter[str], reason: str | None) -> None:
        with self._lock:
            self._dropped += sum(kinds.values())
            self._dropped_by_kind.update(kinds)
            total, by_kind = self._dropped, dict(self._dropped_by_kind)
            if reason is None:
                return  # the caller logged this one
            now = self._clock()
            due = self._drop_logged_at is None or now - self._drop_logged_at >= self._log_interval
            if not due:
                return
            self._drop_logged_at = now
        described = ", ".join(f"{count} {kind}" for kind, count in sorted(by_kind.items()))
        logger.error(
            "Records lost because %s (%d waiting at most): %d dropped since start (%s)",
            reason,
            self._max_pending,
            total,
            described,
        )

    # -- the writer thread -----------------------------------------------------------------

    def _start_thread(self) -> None:
        with self._lock:
            if not self._use_thread or self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        """While records wait after a failure, try again every retry interval, so the
        backlog lands when the database returns."""
        while True:
            with self._lock:
                closed = self._closed
            if closed:
                return
            waiting = self._has_work()
            if waiting and self.availability.may_try():
                self._closing.wait(WRITE_LINGER_SECONDS)  # `close` drains what waits
                while self.drain_once() and self._has_work():
                    pass
                continue
            self._wake.wait(max(self._retry_interval, 0.05) if waiting else None)
            self._wake.clear()

    def close(self) -> None:
        """Stop the thread (what waits stays for a last `drain()`)."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._closing.set()
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
