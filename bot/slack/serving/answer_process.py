"""A process beside each web worker that answers the mentions and DMs the worker acknowledges.

Acknowledging a request takes a millisecond of CPU; answering one (matching, Block Kit, the
post, the done mark) takes a few. In one process the two share a GIL, so the acknowledgement of
the next mention waited for the answer of the one before: at one sender a mention's ack took
about three times the minimal Bolt app's (docs/benchmarks.md). So the web worker claims the
delivery in the durable inbox, acknowledges it, and hands the delivery (its body and its claim)
to its answer process, which dispatches it through an app of its own, as the inbox sweeper
dispatches a delivery it leased, and answers it under the worker's claim.

Nothing handed over is lost when the answer process dies: each delivery is in the inbox, and
one nobody finished is answered by a sweeper once its lease runs out. The worker notices within a
second (a watch thread, so a worker that gets no request still replaces it), starts a new answer
process and, until that one is ready, answers in its own threads, as it does when none was asked
for.

The answer process stops when its worker tells it to (after the last hand-off, once what it
holds is answered) or when its worker is gone. A SIGTERM sent to every process of a dyno does
not stop it early: it answers what it was handed first.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltRequest

from bot.slack.platform.redelivery import HANDED_OVER_KEY, Delivery

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.queues import Queue

    from bot.settings import Settings

log = logging.getLogger(__name__)

READY_SECONDS = 60.0
"""How long a new answer process may take to build its app before it is given up on."""
PARENT_CHECK_SECONDS = 1.0
"""How often an idle answer process looks whether its worker is still there."""
ANSWER_NICENESS = 10
"""How much lower the answer process's CPU priority is than its worker's: when both have work,
the kernel runs the acknowledgements first, and answers take the rest."""
WATCH_SECONDS = 1.0
"""How often the worker looks whether its answer process died or became ready."""
STOP_SECONDS = 30.0
"""How long a stopping worker waits for its answer process to answer what it holds
(gunicorn's --graceful-timeout)."""


@dataclass(frozen=True)
class HandedOver:
    """One delivery on its way to the answer process: the request's body as Slack sent it
    (JSON) and the claim the worker made for it."""

    body: str
    delivery: Delivery


class AnswerProcess:
    """The worker's side: starts the answer process and hands it deliveries (`hand_over`)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._reading = threading.Lock()
        """Held while the ready pipe is read: two readers could both see its word coming and
        one wait for ever for a second."""
        self._process: SpawnProcess | None = None
        self._queue: Queue[HandedOver | None] | None = None
        self._ready: Connection | None = None
        """The answer process says "ready" on it once its app is built (a pipe, not a
        multiprocessing Event: setting one whose waiter died blocks for ever)."""
        self._started_at = 0.0
        self._is_ready = False
        self._stopped = threading.Event()
        """Set once the worker stops handing over; it also wakes the watch thread."""
        self._watch = threading.Thread(target=self._watch_process, name="answer-watch", daemon=True)

    def start(self) -> None:
        """Start the answer process; it takes deliveries once its app is built."""
        with self._lock:
            self._start()
        self._watch.start()

    def _watch_process(self) -> None:
        """Replace a dead answer process without waiting for the next request to notice."""
        while not self._stopped.wait(WATCH_SECONDS):
            with self._lock:
                if not self._stopped.is_set():
                    self._usable()

    def _start(self) -> None:
        self._discard_channels()
        self._queue = self._context.Queue()
        self._ready, says_ready = self._context.Pipe(duplex=False)
        self._is_ready = False
        self._started_at = time.monotonic()
        self._process = self._context.Process(
            target=answer_deliveries,
            args=(self._settings, self._queue, says_ready, os.getpid()),
            name="answer-process",
            daemon=False,
        )
        self._process.start()
        says_ready.close()  # the answer process's end
        log.info("Started the answer process (pid %s)", self._process.pid)

    def hand_over(self, body: dict[str, Any], delivery: Delivery) -> bool:
        """Give the answer process this delivery to answer; False (answer it here) while
        there is no answer process ready to take it."""
        with self._lock:
            if self._stopped.is_set() or not self._usable():
                return False
            assert self._queue is not None
            self._queue.put(HandedOver(json.dumps(body), delivery))
            return True

    def _usable(self) -> bool:
        process, ready = self._process, self._ready
        if process is None or ready is None:
            return False
        if not process.is_alive():
            log.error(
                "The answer process (pid %s) stopped (exit code %s): starting another; until "
                "it is ready this worker answers; what it held is answered from the inbox "
                "once its lease runs out",
                process.pid,
                process.exitcode,
            )
            self._start()
            return False
        if not self._is_ready and self._reading.acquire(blocking=False):
            try:
                self._is_ready = _said_ready(ready, 0)
            finally:
                self._reading.release()
            if not self._is_ready and time.monotonic() - self._started_at > READY_SECONDS:
                log.error("The answer process (pid %s) never became ready: replaced", process.pid)
                process.kill()
                process.join(1.0)
                self._start()
        return self._is_ready

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def ready(self, timeout: float) -> bool:
        """Wait up to `timeout` for the answer process to take deliveries (tests, start-up)."""
        with self._lock:
            ready, is_ready = self._ready, self._is_ready
        if ready is None or is_ready:
            return is_ready
        with self._reading:
            said = self._is_ready or _said_ready(ready, timeout)
        with self._lock:
            if ready is self._ready:
                self._is_ready = self._is_ready or said
            return said

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Hand over nothing more; wait for the answer process to answer what it holds."""
        with self._lock:
            if self._stopped.is_set():
                return
            self._stopped.set()
            process, deliveries = self._process, self._queue
        if process is None or deliveries is None:
            return
        if process.is_alive():
            deliveries.put(None)
            process.join(timeout)
        if process.is_alive():
            log.error("The answer process (pid %s) did not stop in %ss", process.pid, timeout)
            process.kill()
            process.join(1.0)
        with self._lock:
            self._discard_channels()

    def _discard_channels(self) -> None:
        """Close the queue and the ready pipe of the answer process there was. What a dead one
        never read stays in the inbox; without `cancel_join_thread` this process would wait
        at its exit for the queue's feeder to write it into a pipe nobody reads."""
        if self._queue is not None:
            self._queue.cancel_join_thread()
            self._queue.close()
            self._queue = None
        if self._ready is not None:
            self._ready.close()
            self._ready = None


def _said_ready(ready: Connection, timeout: float) -> bool:
    """Whether the answer process said it is ready, waiting up to `timeout` for it."""
    try:
        return ready.poll(timeout) and ready.recv() == "ready"
    except (EOFError, OSError):
        return False  # it closed its end without a word: it died building its app


def answer_deliveries(
    settings: Settings,
    deliveries: Queue[HandedOver | None],
    ready: Connection,
    worker_pid: int,
) -> None:
    """The answer process: build the app, answer each delivery handed over, stop when the
    worker says so (None) or is gone, after answering what it took."""
    from bot.slack.app import create_app, finish_work, open_store
    from bot.slack.serving.worker import freeze_built_app

    os.nice(ANSWER_NICENESS)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the worker says when: see the module doc
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    settings.configure_logging()
    store = open_store(settings)
    app = create_app(settings, store=store, answering_only=True)
    freeze_built_app()
    ready.send("ready")
    ready.close()
    log.info("The answer process (pid %s) is ready", os.getpid())
    try:
        while True:
            try:
                handed = deliveries.get(timeout=PARENT_CHECK_SECONDS)
            except queue.Empty:
                if os.getppid() != worker_pid:
                    log.warning("The answer process's worker is gone: stopping")
                    break
                continue
            if handed is None:
                break
            answer_handed(app, handed)
    finally:
        finish_work(app)
        store.close()


def answer_handed(app: App, handed: HandedOver) -> None:
    """Dispatch a delivery handed over through `app`, under the worker's claim: its listener
    answers it (in the app's answer slots) and marks its inbox row done."""
    app.dispatch(
        BoltRequest(
            body=json.loads(handed.body),
            mode="socket_mode",
            context={HANDED_OVER_KEY: handed.delivery},
        )
    )
