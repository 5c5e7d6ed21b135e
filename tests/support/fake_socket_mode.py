"""Slack's Socket Mode endpoint on 127.0.0.1: a minimal WebSocket server (RFC 6455, stdlib only).

`FakeSlack(socket_mode=True)` answers `apps.connections.open` with a single-use
`ws://127.0.0.1:<port>/link?ticket=...` from `issue_url()`. The app's Socket Mode client connects
there, receives `hello`, and then gets whatever a test pushes: `send_envelope` writes an
`events_api` / `slash_commands` / `interactive` envelope the way Slack does, `wait_for_ack`
blocks until the client answered it with `{"envelope_id": ...}` (plus `payload` for a response),
and `deliver` does both. `disconnect()` sends Slack's `{"type": "disconnect"}` (the client must
fetch a new URL and reconnect) and `close()` ends a connection with a close frame.

Two faults have no message at all, as when a server crashes or the network between goes: `drop()`
ends a connection with a TCP FIN and no close frame, and `go_silent()` leaves it half-open (the
socket stays open, but the server reads nothing more and sends nothing: no pong, no close). For
a failing `apps.connections.open`, script the fake Web API: `fail_next("apps.connections.open")`.

The server speaks the part of RFC 6455 a client needs: the handshake with Sec-WebSocket-Accept,
masked client frames (an unmasked one is a protocol error), fragmented messages, text frames
both ways, ping/pong and the closing handshake. Frames to the client are never masked and never
fragmented, like Slack's. slack_sdk's built-in client cannot parse a frame of only 2 bytes (it
waits for more), so every ping and close this server sends carries a payload.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, BinaryIO, Self
from urllib.parse import parse_qs, urlsplit

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
LINK_PATH = "/link"
ENVELOPE_TYPES = frozenset({"events_api", "slash_commands", "interactive"})
MAX_HEADER_BYTES = 16_384
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class Opcode(IntEnum):
    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    NO_STATUS = 1005


class ProtocolError(Exception):
    """The client broke RFC 6455; the server closes with 1002."""


@dataclass(frozen=True)
class Frame:
    opcode: int
    payload: bytes
    fin: bool = True
    masked: bool = False


@dataclass(frozen=True)
class Ack:
    """A client's answer to one envelope."""

    envelope_id: str
    message: dict[str, Any]
    connection: int
    at: float = 0.0

    @property
    def payload(self) -> dict[str, Any] | None:
        """The response payload (e.g. a view_submission's response_action), if any."""
        payload = self.message.get("payload")
        return payload if isinstance(payload, dict) else None


@dataclass(frozen=True)
class Rejection:
    """A WebSocket handshake the server refused, and why."""

    status: int
    reason: str
    request_line: str


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key."""
    digest = hashlib.sha1((key + WEBSOCKET_GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def encode_frame(
    opcode: int, payload: bytes = b"", *, fin: bool = True, mask: bytes | None = None
) -> bytes:
    """One frame on the wire; `mask` (4 bytes) masks it, as a client must."""
    header = bytearray([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if mask is not None else 0
    length = len(payload)
    if length <= 125:
        header.append(mask_bit | length)
    elif length <= 0xFFFF:
        header.append(mask_bit | 126)
        header += struct.pack("!H", length)
    else:
        header.append(mask_bit | 127)
        header += struct.pack("!Q", length)
    if mask is None:
        return bytes(header) + payload
    if len(mask) != 4:
        raise ValueError("a frame mask is 4 bytes")
    return bytes(header) + mask + _apply_mask(payload, mask)


def _apply_mask(payload: bytes, mask: bytes) -> bytes:
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        len(payload), "big"
    )


def _read_exactly(reader: BinaryIO, count: int) -> bytes:
    data = reader.read(count)
    if data is None or len(data) < count:
        raise EOFError("the connection closed in the middle of a frame")
    return data


def read_frame(reader: BinaryIO) -> Frame:
    """Read one frame (unmasking it); raises EOFError when the peer has gone."""
    first, second = _read_exactly(reader, 2)
    if first & 0x70:
        raise ProtocolError("reserved bits set without a negotiated extension")
    opcode = first & 0x0F
    if opcode not in Opcode.__members__.values():
        raise ProtocolError(f"unknown opcode {opcode:#x}")
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", _read_exactly(reader, 2))
    elif length == 127:
        (length,) = struct.unpack("!Q", _read_exactly(reader, 8))
    fin = bool(first & 0x80)
    if opcode >= Opcode.CLOSE and (length > 125 or not fin):
        raise ProtocolError("a control frame must be whole and at most 125 bytes")
    if length > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"a frame of {length} bytes")
    masked = bool(second & 0x80)
    mask = _read_exactly(reader, 4) if masked else None
    payload = _read_exactly(reader, length)
    if mask is not None:
        payload = _apply_mask(payload, mask)
    return Frame(opcode, payload, fin=fin, masked=masked)


def close_payload(code: int, reason: str = "") -> bytes:
    return struct.pack("!H", code) + reason.encode("utf-8")


@dataclass
class _Handshake:
    request_line: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


def _read_handshake(reader: BinaryIO) -> _Handshake:
    request_line = reader.readline(MAX_HEADER_BYTES).decode("latin-1").strip()
    headers: dict[str, str] = {}
    total = len(request_line)
    while True:
        line = reader.readline(MAX_HEADER_BYTES)
        if not line:
            raise EOFError("the connection closed during the handshake")
        total += len(line)
        if total > MAX_HEADER_BYTES:
            raise ProtocolError("handshake headers too long")
        text = line.decode("latin-1").strip()
        if not text:
            break
        name, _, value = text.partition(":")
        headers[name.strip().lower()] = value.strip()
    target = request_line.split(" ")[1] if request_line.count(" ") >= 2 else ""
    url = urlsplit(target)
    return _Handshake(request_line, url.path, parse_qs(url.query), headers)


@dataclass
class SocketConnection:
    """One client's WebSocket as the server sees it (`number` counts from 1 in accept order)."""

    number: int
    ticket: str
    sock: socket.socket
    reader: BinaryIO
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    open: bool = True
    close_sent: bool = False
    close_code: int | None = None
    close_reason: str = ""
    dropped: bool = False
    """`drop()` ended it: TCP FIN, no close frame."""
    silent: bool = False
    """`go_silent()` made it half-open: open, but this side reads and sends nothing."""

    def send_frame(self, opcode: int, payload: bytes = b"") -> None:
        with self.send_lock:
            if self.close_sent:
                raise ConnectionError(f"connection {self.number} is closing")
            if self.silent:
                raise ConnectionError(f"connection {self.number} is half-open (go_silent)")
            if opcode == Opcode.CLOSE:
                self.close_sent = True
            self.sock.sendall(encode_frame(opcode, payload))

    def send_json(self, message: dict[str, Any]) -> None:
        self.send_frame(Opcode.TEXT, json.dumps(message).encode("utf-8"))


class FakeSocketMode:
    """Slack's Socket Mode WebSocket endpoint, recording every message clients send."""

    def __init__(self, app_id: str = "A0FAKEAPP") -> None:
        self.app_id = app_id
        self._lock = threading.Condition()
        self._listener: socket.socket | None = None
        self._port: int | None = None
        self._accept_thread: threading.Thread | None = None
        self._tickets: set[str] = set()
        self._numbers = itertools.count(1)
        self._connections: list[SocketConnection] = []
        self._threads: list[threading.Thread] = []
        self._messages: list[tuple[int, dict[str, Any]]] = []
        self._acks: dict[str, Ack] = {}
        self._pings: list[bytes] = []
        self._pongs: list[bytes] = []
        self._rejections: list[Rejection] = []
        self._stopping = False
        self._stopped = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen on a free loopback port and accept connections from a daemon thread."""
        if self._listener is not None:
            return self
        self._stopping = False
        self._stopped.clear()
        listener = socket.create_server(("127.0.0.1", 0), backlog=16)
        self._listener = listener
        self._port = listener.getsockname()[1]
        self._accept_thread = threading.Thread(
            target=self._accept_loop, args=(listener,), name="fake-socket-mode", daemon=True
        )
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, drop every connection and wait for the server threads."""
        if self._listener is None:
            return
        self._stopping = True
        self._stopped.set()
        _shutdown(self._listener)
        self._listener.close()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
        with self._lock:
            connections, threads = list(self._connections), list(self._threads)
        for connection in connections:
            _shutdown(connection.sock)
        for thread in threads:
            thread.join(timeout=5)
        self._listener = None
        self._accept_thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The listening port; after stop() it still names the (now refusing) port."""
        if self._port is None:
            raise RuntimeError("FakeSocketMode was never started")
        return self._port

    def issue_url(self) -> str:
        """A new single-use WebSocket URL, as `apps.connections.open` returns."""
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}{LINK_PATH}?ticket={ticket}&app_id={self.app_id}"

    # -- what clients did ------------------------------------------------------------------

    @property
    def connections(self) -> list[SocketConnection]:
        """Every accepted connection, open or not, in accept order."""
        with self._lock:
            return list(self._connections)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every JSON message clients sent, in arrival order."""
        with self._lock:
            return [message for _, message in self._messages]

    @property
    def acks(self) -> list[Ack]:
        with self._lock:
            return sorted(self._acks.values(), key=lambda ack: ack.at)

    @property
    def pings(self) -> list[bytes]:
        """Payloads of the pings clients sent (each was answered with a pong)."""
        with self._lock:
            return list(self._pings)

    @property
    def rejections(self) -> list[Rejection]:
        with self._lock:
            return list(self._rejections)

    def _wait(self, ready: Callable[[], Any], timeout: float, what: Callable[[], str]) -> Any:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                result = ready()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{what()} within {timeout}s")
                self._lock.wait(remaining)

    def wait_for_connection(self, count: int = 1, timeout: float = 10.0) -> SocketConnection:
        """Block until `count` connections completed the handshake; returns the count-th."""
        return self._wait(
            lambda: len(self._connections) >= count and self._connections[count - 1],
            timeout,
            lambda: (
                f"expected {count} Socket Mode connection(s), got {len(self._connections)} "
                f"(rejected handshakes: {self._rejections})"
            ),
        )

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> Ack:
        """Block until a client acknowledged `envelope_id`."""
        return self._wait(
            lambda: self._acks.get(envelope_id),
            timeout,
            lambda: (
                f"expected an ack of envelope {envelope_id}; messages from clients so far: "
                f"{[message for _, message in self._messages]}"
            ),
        )

    def wait_for_pong(self, payload: bytes, timeout: float = 5.0) -> bytes:
        """Block until a client answered a ping carrying `payload`."""
        return self._wait(
            lambda: payload in self._pongs and payload,
            timeout,
            lambda: f"expected a pong with {payload!r}, got {self._pongs}",
        )

    def wait_for_close(self, connection: SocketConnection, timeout: float = 5.0) -> None:
        """Block until `connection` has ended (closing handshake or the client went away)."""
        self._wait(
            lambda: not connection.open,
            timeout,
            lambda: f"expected connection {connection.number} to end",
        )

    # -- talking to clients ----------------------------------------------------------------

    def current(self) -> SocketConnection:
        """The newest open connection (where Slack would send the next envelope)."""
        with self._lock:
            for connection in reversed(self._connections):
                if connection.open and not (
                    connection.close_sent or connection.dropped or connection.silent
                ):
                    return connection
        raise AssertionError("no open Socket Mode connection")

    def send_envelope(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        envelope_id: str | None = None,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        connection: SocketConnection | None = None,
    ) -> str:
        """Send one envelope as Slack does; returns its envelope_id.

        `accepts_response_payload` defaults to Slack's: true for slash commands and interactivity,
        false for events. Only `events_api` envelopes carry retry_attempt / retry_reason.
        """
        if envelope_type not in ENVELOPE_TYPES:
            raise ValueError(f"unknown envelope type {envelope_type!r}: one of {ENVELOPE_TYPES}")
        envelope_id = envelope_id or str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": envelope_type,
            "accepts_response_payload": (
                envelope_type != "events_api"
                if accepts_response_payload is None
                else accepts_response_payload
            ),
        }
        if envelope_type == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        (connection or self.current()).send_json(envelope)
        return envelope_id

    def deliver(self, envelope_type: str, payload: dict[str, Any], **options: Any) -> Ack:
        """Send an envelope and wait for its acknowledgement (options as for `send_envelope`,
        plus `timeout`)."""
        timeout = options.pop("timeout", 5.0)
        return self.wait_for_ack(self.send_envelope(envelope_type, payload, **options), timeout)

    def ping(self, payload: bytes, connection: SocketConnection | None = None) -> None:
        """Send a ping (non-empty: see the module docstring); `wait_for_pong` sees the answer."""
        if not payload:
            raise ValueError("slack_sdk's client cannot read an empty ping")
        (connection or self.current()).send_frame(Opcode.PING, payload)

    def disconnect(
        self, reason: str = "refresh_requested", connection: SocketConnection | None = None
    ) -> None:
        """Slack's warning that it will drop this connection; the client should reconnect."""
        (connection or self.current()).send_json(
            {
                "type": "disconnect",
                "reason": reason,
                "debug_info": {"host": "fake-socket-mode"},
            }
        )

    def close(
        self,
        code: int = CloseCode.GOING_AWAY,
        reason: str = "going away",
        connection: SocketConnection | None = None,
    ) -> SocketConnection:
        """Start the closing handshake on a connection; returns that connection."""
        connection = connection or self.current()
        connection.send_frame(Opcode.CLOSE, close_payload(code, reason))
        return connection

    def drop(self, connection: SocketConnection | None = None) -> SocketConnection:
        """End a connection as a crashed server or a restarted load balancer does: a TCP FIN
        and no WebSocket close frame (a ping the client sends after it is answered with a TCP
        reset). Returns that connection."""
        connection = connection or self.current()
        with connection.send_lock:  # never in the middle of a frame
            connection.dropped = True
            _shutdown(connection.sock)
        return connection

    def go_silent(self, connection: SocketConnection | None = None) -> SocketConnection:
        """Leave a connection half-open, as when the network path to the client dies: the
        socket stays open, but from now on this side reads nothing (the client's next frame,
        its ping, is the last one taken) and sends nothing: no pong, no envelope, no close.
        Returns that connection."""
        connection = connection or self.current()
        with connection.send_lock:
            connection.silent = True
        return connection

    # -- serving (server threads) ----------------------------------------------------------

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stopping:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            thread = threading.Thread(
                target=self._serve, args=(sock,), name="fake-socket-mode-conn", daemon=True
            )
            with self._lock:
                self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = sock.makefile("rb")
        connection: SocketConnection | None = None
        try:
            connection = self._handshake(sock, reader)
            if connection is not None:
                connection.send_json(
                    {
                        "type": "hello",
                        "num_connections": sum(c.open for c in self.connections),
                        "debug_info": {
                            "host": "fake-socket-mode",
                            "approximate_connection_time": 3600,
                        },
                        "connection_info": {"app_id": self.app_id},
                    }
                )
                self._read_messages(connection)
        except ProtocolError as error:
            if connection is not None and not connection.close_sent:
                _send_quietly(
                    connection,
                    Opcode.CLOSE,
                    close_payload(CloseCode.PROTOCOL_ERROR, str(error)[:100]),
                )
        except (EOFError, OSError):
            pass
        finally:
            reader.close()
            _shutdown(sock)
            sock.close()
            if connection is not None:
                with self._lock:
                    connection.open = False
                    self._lock.notify_all()

    def _handshake(self, sock: socket.socket, reader: BinaryIO) -> SocketConnection | None:
        request = _read_handshake(reader)
        ticket = (request.query.get("ticket") or [""])[0]
        problem = self._handshake_problem(request, ticket)
        if problem is not None:
            status, reason = problem
            with self._lock:
                self._rejections.append(Rejection(status, reason, request.request_line))
                self._lock.notify_all()
            body = reason.encode("utf-8")
            sock.sendall(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("latin-1")
                + body
            )
            return None
        sock.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept_key(request.headers['sec-websocket-key'])}\r\n"
                "\r\n"
            ).encode("latin-1")
        )
        with self._lock:
            connection = SocketConnection(next(self._numbers), ticket, sock, reader)
            self._connections.append(connection)
            self._lock.notify_all()
        return connection

    def _handshake_problem(self, request: _Handshake, ticket: str) -> tuple[int, str] | None:
        headers = request.headers
        if not request.request_line.startswith("GET "):
            return 405, "Method Not Allowed"
        if request.path.rstrip("/") != LINK_PATH:
            return 404, "Not Found"
        if headers.get("upgrade", "").lower() != "websocket" or "upgrade" not in {
            token.strip().lower() for token in headers.get("connection", "").split(",")
        }:
            return 400, "Bad Request: not a WebSocket upgrade"
        key = headers.get("sec-websocket-key", "")
        try:
            valid_key = len(base64.b64decode(key, validate=True)) == 16
        except ValueError:
            valid_key = False
        if not valid_key:
            return 400, "Bad Request: Sec-WebSocket-Key"
        if headers.get("sec-websocket-version") != "13":
            return 426, "Upgrade Required"
        with self._lock:
            if ticket not in self._tickets:
                return 401, "Unauthorized: unknown or used ticket"
            # Used up here, under the lock, before the 101 goes out: a client that reconnects
            # the moment it reads the 101 must find the ticket gone.
            self._tickets.discard(ticket)
        return None

    def _read_messages(self, connection: SocketConnection) -> None:
        fragments: list[bytes] = []
        fragmented_opcode: int | None = None
        while True:
            frame = read_frame(connection.reader)
            if connection.silent:
                self._stopped.wait()  # half-open until the server stops
                return
            if not frame.masked:
                raise ProtocolError("a client frame must be masked")
            if frame.opcode == Opcode.PING:
                with self._lock:
                    self._pings.append(frame.payload)
                _send_quietly(connection, Opcode.PONG, frame.payload)
            elif frame.opcode == Opcode.PONG:
                with self._lock:
                    self._pongs.append(frame.payload)
                    self._lock.notify_all()
            elif frame.opcode == Opcode.CLOSE:
                self._closed_by_client(connection, frame.payload)
                return
            elif frame.opcode == Opcode.CONTINUATION:
                if fragmented_opcode is None:
                    raise ProtocolError("a continuation frame with nothing to continue")
                fragments.append(frame.payload)
                if frame.fin:
                    self._receive(connection, fragmented_opcode, b"".join(fragments))
                    fragments, fragmented_opcode = [], None
            elif fragmented_opcode is not None:
                raise ProtocolError("a new message inside a fragmented one")
            elif frame.fin:
                self._receive(connection, frame.opcode, frame.payload)
            else:
                fragments, fragmented_opcode = [frame.payload], frame.opcode

    def _closed_by_client(self, connection: SocketConnection, payload: bytes) -> None:
        code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else CloseCode.NO_STATUS
        with self._lock:
            connection.close_code = code
            connection.close_reason = payload[2:].decode("utf-8", "replace")
        if not connection.close_sent:
            _send_quietly(connection, Opcode.CLOSE, close_payload(code))

    def _receive(self, connection: SocketConnection, opcode: int, data: bytes) -> None:
        if opcode != Opcode.TEXT:
            raise ProtocolError("Socket Mode clients send text frames only")
        try:
            message = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ProtocolError(f"not a JSON text message: {error}") from None
        if not isinstance(message, dict):
            raise ProtocolError("a Socket Mode message is a JSON object")
        with self._lock:
            self._messages.append((connection.number, message))
            envelope_id = message.get("envelope_id")
            if isinstance(envelope_id, str):
                self._acks.setdefault(
                    envelope_id, Ack(envelope_id, message, connection.number, time.monotonic())
                )
            self._lock.notify_all()


def _send_quietly(connection: SocketConnection, opcode: int, payload: bytes) -> None:
    """Answer a control frame unless the connection is already gone or closing."""
    with contextlib.suppress(OSError):
        connection.send_frame(opcode, payload)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
