"""HTTP/1.1 connections read whole on an asyncio event loop before anything runs on a thread.

A request is parsed with h11 as its bytes arrive, and only a complete one (headers and body) is
handed to `dispatch`, which runs the WSGI app on a pool of threads (`WsgiPool`). A client that
sends half its headers, or headers and not its body, costs one coroutine, never a thread, and
is closed when its deadline passes:

- a new connection has `header_seconds` to send its request's headers; a kept-alive one has
  `keepalive_seconds` to start its next request, then `header_seconds` to finish its headers;
- the body has `body_seconds` from the end of the headers;
- a body over `max_body_bytes` is refused with 413 before it is read (by its Content-Length)
  or as soon as it passes the limit (chunked);
- headers over `max_header_bytes` get 431, a malformed request 400.

A request whose deadline passed gets 408 and its connection is closed. The response is
buffered too: the app's body is joined on its thread and sent with its Content-Length.

Used by the gunicorn worker in bot/slack/serving/worker.py; nothing here knows gunicorn.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

import h11

log = logging.getLogger(__name__)

READ_SIZE = 64 * 1024
CLOSE_SECONDS = 1.0
"""How long a close may wait for the last bytes to leave (and, after a refusal, for the client
to close its side) before the connection is aborted."""

Environ = dict[str, Any]
WsgiApp = Callable[[Environ, Callable[..., Any]], Iterable[bytes]]
Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class Limits:
    """How long and how large a request may be."""

    header_seconds: float = 5.0
    body_seconds: float = 10.0
    keepalive_seconds: float = 2.0
    max_body_bytes: int = 1024 * 1024
    max_header_bytes: int = 16 * 1024


@dataclass(frozen=True)
class Answer:
    """What the WSGI app answered, whole."""

    status: int
    reason: bytes
    headers: Headers
    body: bytes


@dataclass(frozen=True)
class Peer:
    """Both ends of a connection, and the scheme the client used (https behind a trusted
    proxy that says so)."""

    client: tuple[str, int]
    server: tuple[str, int]
    url_scheme: Callable[[h11.Request, str], str] = field(default=lambda request, host: "http")


Dispatch = Callable[[Environ], Awaitable[Answer]]


class HttpConnection:
    """One client connection: requests read whole, answered by `dispatch`, in order."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        dispatch: Dispatch,
        limits: Limits,
        peer: Peer,
        *,
        stopping: Callable[[], bool] = lambda: False,
        answered: Callable[[], None] = lambda: None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._dispatch = dispatch
        self._limits = limits
        self._peer = peer
        self._stopping = stopping
        self._answered = answered
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=limits.max_header_bytes)
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Task[None] | None = None
        self._refused = False
        self.idle = True
        """No byte of the next request has arrived: closing now loses nothing."""

    def close_if_idle(self) -> None:
        """End the connection now if it is between requests (a stopping worker)."""
        if self.idle and self._task is not None:
            self._task.cancel()

    async def serve(self) -> None:
        """Answer requests until the client closes, a deadline passes or the worker stops."""
        self._task = asyncio.current_task()
        try:
            kept_alive = False
            while await self._serve_one(kept_alive):
                kept_alive = True
        except asyncio.CancelledError:
            pass
        except (ConnectionError, OSError) as error:
            log.debug("Connection from %s ended: %r", self._peer.client[0], error)
        except Exception:
            log.exception("Closing a connection from %s after an error", self._peer.client[0])
        finally:
            await self._close()

    async def _serve_one(self, kept_alive: bool) -> bool:
        """One request and its answer; whether the connection may carry another."""
        request = await self._read_head(kept_alive)
        if request is None:
            return False
        body = await self._read_body(request)
        if body is None:
            return False
        answer = await self._dispatch(self._environ(request, body))
        self._answered()
        await self._respond(request, answer)
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
            return not self._stopping()
        return False

    async def _read_head(self, kept_alive: bool) -> h11.Request | None:
        """The next request's line and headers, or None when the connection is to close."""
        limits = self._limits
        deadline = self._loop.time() + limits.header_seconds
        self.idle = not self._h11.trailing_data[0]
        try:
            if kept_alive and self.idle:
                async with asyncio.timeout(limits.keepalive_seconds):
                    if not await self._receive():
                        return None
                deadline = self._loop.time() + limits.header_seconds
            async with asyncio.timeout_at(deadline):
                event = await self._next_event()
        except TimeoutError:
            if not self.idle:
                self._refuse(HTTPStatus.REQUEST_TIMEOUT, "its headers did not arrive in time")
            return None
        except h11.RemoteProtocolError as error:
            status = HTTPStatus(error.error_status_hint)
            self._refuse(status, f"its request could not be read ({error})")
            return None
        finally:
            self.idle = False
        if not isinstance(event, h11.Request):
            return None
        # h11 bounds only headers still incomplete; headers that arrive whole in one read
        # are bounded here.
        if _head_size(event) > limits.max_header_bytes:
            self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "its headers are too large")
            return None
        return event

    async def _read_body(self, request: h11.Request) -> bytes | None:
        """The whole body, or None when the request was refused or the client went away."""
        limits = self._limits
        declared = _content_length(request)
        if declared is not None and declared > limits.max_body_bytes:
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"its body is {declared} bytes")
            return None
        if self._h11.they_are_waiting_for_100_continue:
            self._writer.write(self._send(h11.InformationalResponse(status_code=100, headers=[])))
        body = bytearray()
        try:
            async with asyncio.timeout(limits.body_seconds):
                while True:
                    event = await self._next_event()
                    if isinstance(event, h11.Data):
                        body += event.data
                        if len(body) > limits.max_body_bytes:
                            self._refuse(
                                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "its chunked body is too large"
                            )
                            return None
                    elif isinstance(event, h11.EndOfMessage):
                        return bytes(body)
                    else:
                        return None  # the client closed the connection
        except TimeoutError:
            self._refuse(HTTPStatus.REQUEST_TIMEOUT, "its body did not arrive in time")
        except h11.RemoteProtocolError as error:
            self._refuse(HTTPStatus.BAD_REQUEST, f"its body could not be read ({error})")
        return None

    async def _next_event(self) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
        while True:
            event = self._h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            await self._receive()

    async def _receive(self) -> bool:
        """Feed the parser what arrives next; False when the client closed its side."""
        data = await self._reader.read(READ_SIZE)
        self.idle = False
        self._h11.receive_data(data)
        return bool(data)

    async def _respond(self, request: h11.Request, answer: Answer) -> None:
        headers = [
            (name, value)
            for name, value in answer.headers
            if name.lower() not in {b"content-length", b"transfer-encoding", b"connection"}
        ]
        headers.append((b"content-length", str(len(answer.body)).encode("ascii")))
        if self._stopping():
            headers.append((b"connection", b"close"))
        try:
            wire = self._send(
                h11.Response(status_code=answer.status, headers=headers, reason=answer.reason)
            )
            if answer.body and request.method != b"HEAD":
                wire += self._send(h11.Data(data=answer.body))
            wire += self._send(h11.EndOfMessage())
        except h11.LocalProtocolError:
            log.exception("The app's answer to %s cannot be sent", request.target[:200])
            self._refuse(HTTPStatus.INTERNAL_SERVER_ERROR, "its answer could not be sent")
            return
        self._writer.write(wire)
        async with asyncio.timeout(self._limits.body_seconds):
            await self._writer.drain()

    def _send(self, event: h11.Event) -> bytes:
        return self._h11.send(event) or b""

    def _refuse(self, status: HTTPStatus, why: str) -> None:
        """Answer `status` outside h11's state machine (there may be no request to answer)
        before the connection closes."""
        log.info("Closing a connection from %s: %s", self._peer.client[0], why)
        self._refused = True
        reason = status.phrase.encode("ascii")
        self._writer.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s"
            % (status.value, reason, len(reason), reason)
        )

    async def _close(self) -> None:
        """Close the connection; after a refusal, only once the client has read the answer:
        closing with its unread bytes still arriving would reset the connection, and the
        client could lose the 408 or 413 before reading it."""
        try:
            async with asyncio.timeout(CLOSE_SECONDS):
                if self._refused and self._writer.can_write_eof():
                    self._writer.write_eof()
                    while await self._reader.read(READ_SIZE):
                        pass  # what the client still sends is dropped until it closes too
                self._writer.close()
                await self._writer.wait_closed()
        except (TimeoutError, ConnectionError, OSError, asyncio.CancelledError):
            self._writer.transport.abort()

    def _environ(self, request: h11.Request, body: bytes) -> Environ:
        """The WSGI environ (PEP 3333) of a complete request."""
        target = request.target
        if not target.startswith(b"/") and b"://" in target:  # absolute form
            parts = urlsplit(target)
            path, query = parts.path or b"/", parts.query
        else:
            path, _, query = target.partition(b"?")
        server_host, server_port = self._peer.server[:2]
        environ: Environ = {
            "REQUEST_METHOD": request.method.decode("ascii"),
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query.decode("latin-1"),
            "SERVER_NAME": str(server_host),
            "SERVER_PORT": str(server_port),
            "SERVER_PROTOCOL": "HTTP/" + request.http_version.decode("ascii"),
            "REMOTE_ADDR": str(self._peer.client[0]),
            "REMOTE_PORT": str(self._peer.client[1]),
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": self._peer.url_scheme(request, str(self._peer.client[0])),
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        for raw_name, raw_value in request.headers:
            if b"_" in raw_name:
                continue  # as gunicorn does: HTTP_X_A_B must not be spoofable by "x-a_b"
            name = raw_name.decode("latin-1").upper().replace("-", "_")
            value = raw_value.decode("latin-1")
            if name == "CONTENT_LENGTH":
                continue  # the body is whole: its length is len(body), whatever the framing
            key = name if name == "CONTENT_TYPE" else f"HTTP_{name}"
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ


def _head_size(request: h11.Request) -> int:
    """About the size of the request line and headers on the wire."""
    line = len(request.method) + len(request.target) + 12
    return line + sum(len(name) + len(value) + 4 for name, value in request.headers)


def _content_length(request: h11.Request) -> int | None:
    for name, value in request.headers:
        if name == b"content-length":
            return int(value)  # h11 has checked it is digits
    return None


class WsgiPool:
    """A WSGI app run on `threads` threads; `await pool(environ)` is its whole answer."""

    def __init__(self, app: WsgiApp, threads: int) -> None:
        self._app = app
        self._executor = ThreadPoolExecutor(max(threads, 1), thread_name_prefix="wsgi")

    async def __call__(self, environ: Environ) -> Answer:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, call_wsgi, self._app, environ)

    def shutdown(self) -> None:
        """Take no more calls; those running finish on their threads."""
        self._executor.shutdown(wait=False)


def call_wsgi(app: WsgiApp, environ: Environ) -> Answer:
    """Call `app` and join its answer; an exception in it is logged and answered 500."""
    started: list[tuple[str, list[tuple[str, str]]]] = []
    written: list[bytes] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [(status, headers)]
        return written.append

    try:
        result = app(environ, start_response)
        try:
            chunks = [*written, *result]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if not started:
            raise RuntimeError("the WSGI app returned without calling start_response")
        status, headers = started[0]
        code, _, reason = status.partition(" ")
        return Answer(
            int(code),
            reason.encode("latin-1"),
            [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers],
            b"".join(chunks),
        )
    except Exception:
        log.exception(
            "The app failed answering %s %s",
            environ.get("REQUEST_METHOD"),
            environ.get("PATH_INFO"),
        )
        return Answer(500, b"Internal Server Error", [], b"Internal Server Error")
