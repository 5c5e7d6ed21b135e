"""Clients that send half a request and then nothing: what a slow or hostile client does to a
server that gives each connection a thread. Shared by the tests and benchmarks/slack_ack.py.

`StalledClients` opens them (headers cut short, or headers whose body never comes) and records
when the server closes each one and what it answered first.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

HALF_HEADERS = b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slack-Signa"
"""A request cut off in the middle of its headers."""
BODY_WITHHELD = (
    b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 400\r\n\r\n" + b'{"type": "event_callback", "event": '
)
"""Whole headers announcing 400 bytes of body, of which only the first few are sent."""
STALLS = {"half headers": HALF_HEADERS, "body withheld": BODY_WITHHELD}


@dataclass
class Stalled:
    """One stalled connection: what it sent, when it opened, when the server closed it."""

    kind: str
    sock: socket.socket
    opened_at: float
    closed_at: float | None = None
    answer: bytes = b""

    @property
    def open_for(self) -> float | None:
        return None if self.closed_at is None else self.closed_at - self.opened_at

    @property
    def status(self) -> int | None:
        """The status of what the server answered before closing, if anything."""
        head = self.answer.split(b"\r\n", 1)[0].split()
        return int(head[1]) if len(head) > 1 and head[1].isdigit() else None


@dataclass
class StalledClients:
    """`count` connections to `address` of each kind in `kinds`, opened and left stalled."""

    address: tuple[str, int]
    count: int
    kinds: Sequence[str] = tuple(STALLS)
    connections: list[Stalled] = field(default_factory=list)

    def __enter__(self) -> StalledClients:
        for number in range(self.count):
            kind = self.kinds[number % len(self.kinds)]
            sock = socket.create_connection(self.address, timeout=5)
            sock.sendall(STALLS[kind])
            sock.setblocking(False)
            self.connections.append(Stalled(kind, sock, time.monotonic()))
        return self

    def __exit__(self, *exc_info: object) -> None:
        for stalled in self.connections:
            stalled.sock.close()

    def still_open(self) -> int:
        """How many the server has not closed yet (reads what it sent meanwhile)."""
        self._collect(0)
        return sum(1 for stalled in self.connections if stalled.closed_at is None)

    def wait_closed(self, timeout: float) -> list[Stalled]:
        """Wait up to `timeout` seconds for the server to close every one; those left open."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            self._collect(max(remaining, 0))
            left = [stalled for stalled in self.connections if stalled.closed_at is None]
            if not left or remaining <= 0:
                return left

    def _collect(self, timeout: float) -> None:
        """Read from those the server answered or closed, waiting up to `timeout` for one."""
        with selectors.DefaultSelector() as selector:
            for stalled in self.connections:
                if stalled.closed_at is None:
                    selector.register(stalled.sock, selectors.EVENT_READ, stalled)
            if not selector.get_map():
                return
            for key, _ in selector.select(timeout):
                stalled = key.data
                try:
                    data = stalled.sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    stalled.answer += data
                else:
                    stalled.closed_at = time.monotonic()
