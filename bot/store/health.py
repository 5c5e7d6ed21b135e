"""The store's state as every instance sees it, read from the database (for /healthz).

What one process knows of itself (the records waiting in its buffer, those it lost) is in its
memory, so each gunicorn worker, asked alone, used to give its own figures only. Each instance
now writes its figures into the `meta` table (a row `health:<instance>` with JSON), every few
seconds and whenever it is asked; the report adds up the rows written recently, and takes the
rest from the tables themselves: the durable inbox's deliveries not yet answered, and when the
newest record was made. Every instance gives the same answer.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, func, select

from bot.store.availability import StoreUnavailable
from bot.store.schema import decisions, events, feedback, meta, questions, recommendations
from bot.store.statements import RecordKind

if TYPE_CHECKING:
    from bot.store.store import Store

log = logging.getLogger(__name__)

REPORT_PREFIX = "health:"
DEFAULT_REPORT_SECONDS = 10.0
"""How often an instance writes its figures."""
FRESH_REPORTS = 3
"""An instance's figures count while they are at most this many report intervals old (an
instance that stopped writing them has stopped, or cannot reach the database)."""
KEPT_REPORTS = timedelta(days=1)
"""Rows of instances gone for longer than this are deleted."""


def instance_name() -> str:
    """This process among the instances on the database: host, pid and a random part (two
    stores in one process are two instances), within the meta key's 64 characters."""
    host = socket.gethostname()[:32]
    return f"{REPORT_PREFIX}{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class SharedHealth:
    """The store's state over every instance, from the database."""

    instances: int
    """Instances whose figures are recent (this one included)."""
    records_waiting: int
    """Records waiting in those instances' buffers."""
    records_lost: int
    """Records those instances lost since they started (buffer full, or refused)."""
    inbox_unanswered: int
    """Mentions, DMs and shortcuts acknowledged and not answered yet."""
    oldest_unanswered_at: datetime | None
    """When the oldest of those was acknowledged."""
    last_record_at: datetime | None
    """When the newest question, recommendation, vote or decision change was made."""


def write_report(connection: Connection, key: str, waiting: int, lost: int, now: datetime) -> None:
    """This instance's figures, replacing its earlier ones; rows of long-gone instances go."""
    value = json.dumps({"records_waiting": waiting, "records_lost": lost})
    RecordKind.STAMP.write(connection, [{"key": key, "value": value, "updated_at": now}])
    connection.execute(
        delete(meta).where(
            meta.c.key.startswith(REPORT_PREFIX), meta.c.updated_at < now - KEPT_REPORTS
        )
    )


def read_shared(connection: Connection, now: datetime, fresh: timedelta) -> SharedHealth:
    reports = connection.execute(
        select(meta.c.value).where(
            meta.c.key.startswith(REPORT_PREFIX), meta.c.updated_at >= now - fresh
        )
    ).scalars()
    waiting = lost = instances = 0
    for value in reports:
        figures = _figures(value)
        instances += 1
        waiting += figures.get("records_waiting", 0)
        lost += figures.get("records_lost", 0)
    unanswered, oldest = connection.execute(
        select(func.count(), func.min(events.c.claimed_at)).where(
            events.c.done_at.is_(None), events.c.body.is_not(None)
        )
    ).one()
    newest = [
        connection.execute(select(func.max(column))).scalar_one_or_none()
        for column in (
            questions.c.asked_at,
            recommendations.c.recommended_at,
            feedback.c.voted_at,
            decisions.c.updated_at,
        )
    ]
    made = [moment for moment in newest if moment is not None]
    return SharedHealth(
        instances=instances,
        records_waiting=waiting,
        records_lost=lost,
        inbox_unanswered=int(unanswered),
        oldest_unanswered_at=oldest,
        last_record_at=max(made) if made else None,
    )


def _figures(value: str) -> dict[str, int]:
    try:
        figures = json.loads(value)
    except ValueError:
        return {}
    if not isinstance(figures, dict):
        return {}
    return {name: n for name, n in figures.items() if isinstance(n, int) and n >= 0}


class HealthReporter:
    """Writes the store's figures every `interval` seconds, from a thread of its own, until
    the store is closed; a database that is down is skipped (the outage is logged elsewhere)."""

    def __init__(self, store: Store, interval: float = DEFAULT_REPORT_SECONDS) -> None:
        self._store = store
        self._interval = interval
        self._stopped = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._run, name="health-reporter", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.is_set() and not self._store.closed:
            try:
                self._store.report_health()
            except StoreUnavailable:
                pass
            except Exception:
                log.exception("Could not write this instance's health figures")
            self._stopped.wait(self._interval)
