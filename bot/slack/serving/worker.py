"""The gunicorn worker class the Procfile's `web:` line names (`--worker-class`).

gunicorn's gthread worker hands a connection to one of its `--threads` as soon as its first
byte arrives, and that thread then blocks reading the rest: 16 clients sending half a request
(2 workers of 8 threads) left none to acknowledge Slack. This worker keeps gunicorn's master,
its hooks (gunicorn.conf.py), `--workers`, `--threads`, `--timeout`, `--keep-alive`,
`--graceful-timeout` and `--worker-connections`, but reads every request whole on an asyncio
event loop (bot/slack/serving/buffered_http.py) with a deadline for its headers
(HTTP_HEADER_TIMEOUT_SECONDS) and its body (HTTP_BODY_TIMEOUT_SECONDS), and gives the `--threads`
only complete requests to run the WSGI app on.

On SIGTERM it stops accepting, closes the connections between requests, and waits up to
`--graceful-timeout` for the requests being read or answered; SIGINT and SIGQUIT stop it at once.

It builds on gunicorn's documented base for custom workers (`gunicorn.workers.base.Worker`:
`init_process`, `load_wsgi`, `run`, `notify`, `sockets`, `wsgi`, `cfg`, `log`);
`check_gunicorn()` checks at boot that the settings it reads exist, and stops the worker with a
message naming what is missing.
It serves plain HTTP/1.1 (TLS ends at the platform's router; a `--certfile` stops it at boot),
writes no access log, and calls no `pre_request`/`post_request` hooks (gunicorn.conf.py has none).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import os
import signal
import socket
import sys
from typing import Any

import h11
from gunicorn.workers.base import Worker

from bot.settings import Settings, SettingsError
from bot.slack.serving.buffered_http import HttpConnection, Limits, Peer, WsgiPool
from bot.slack.serving.wsgi import MAX_BODY_BYTES

CFG_SETTINGS = (
    "threads",
    "keepalive",
    "graceful_timeout",
    "worker_connections",
    "forwarded_allow_ips",
    "secure_scheme_headers",
    "max_requests",
    "worker_int",
    "worker_abort",
)
"""The gunicorn settings this worker reads."""

ACCEPT_RETRY_SECONDS = 0.1

GIL_SWITCH_SECONDS = 0.0005
"""How long a worker's thread may hold the GIL while another waits for it (CPython's default
is 5 ms). A worker's threads that answer questions (matching, Block Kit) are busy for
milliseconds at a time, and the thread that has a Slack request's acknowledgement to send
waited behind them for up to the whole default: at one sender, a mention's ack took 4.3-5.0 ms
with the default and 3.2-3.4 ms with this (benchmarks/slack_ack.py, docs/benchmarks.md)."""


def freeze_built_app() -> None:
    """Move every object alive now (the knowledge, the matcher's indexes, Bolt, the store) to
    the garbage collector's permanent generation. Built once and kept for the process's life,
    they were what each full collection walked, tens of milliseconds that fell inside a
    request every so often: a mention's ack p99 at 50 senders was 125-150 ms, and 48-58 ms
    once frozen (docs/benchmarks.md). Objects freed later by reference counting still go."""
    gc.freeze()


def check_gunicorn(cfg: Any) -> None:
    """Raise RuntimeError naming the gunicorn settings this worker needs and `cfg` lacks."""
    missing = [name for name in CFG_SETTINGS if not hasattr(cfg, name)]
    if missing:
        raise RuntimeError(
            f"this gunicorn has no {', '.join(missing)} setting: "
            "bot/slack/serving/worker.py needs a gunicorn within the range in pyproject.toml"
        )
    if getattr(cfg, "is_ssl", False):
        raise RuntimeError(
            "bot.slack.serving.worker.BufferingWorker serves plain HTTP: end TLS in front of it "
            "(the platform's router does) instead of passing --certfile/--keyfile"
        )


def limits_for(keepalive_seconds: float) -> Limits:
    """The deadlines from the environment (HTTP_HEADER_TIMEOUT_SECONDS and
    HTTP_BODY_TIMEOUT_SECONDS), the keep-alive from gunicorn's --keep-alive."""
    try:
        settings = Settings()
    except SettingsError:
        settings = Settings.model_construct()  # the app reports the bad setting by name
    return Limits(
        header_seconds=settings.http_header_timeout_seconds,
        body_seconds=settings.http_body_timeout_seconds,
        keepalive_seconds=keepalive_seconds,
        max_body_bytes=MAX_BODY_BYTES,
    )


class BufferingWorker(Worker):
    """A gunicorn worker whose event loop reads whole requests before a thread runs the app."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._quick = False
        self._connections: set[HttpConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._scheme = ForwardedScheme([], {})

    def init_process(self) -> None:
        check_gunicorn(self.cfg)
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        super().init_process()  # signals, the app, then run()

    def load_wsgi(self) -> None:
        """The app, built; then its long-lived objects are frozen out of the cyclic garbage
        collector (see freeze_built_app)."""
        super().load_wsgi()
        freeze_built_app()

    def init_signals(self) -> None:
        assert self.loop is not None
        for number in self.SIGNALS:
            signal.signal(number, signal.SIG_DFL)
        self.loop.add_signal_handler(signal.SIGTERM, self._stop)
        self.loop.add_signal_handler(signal.SIGINT, self._stop_now)
        self.loop.add_signal_handler(signal.SIGQUIT, self._stop_now)
        self.loop.add_signal_handler(signal.SIGUSR1, self.log.reopen_files)
        self.loop.add_signal_handler(signal.SIGWINCH, lambda: None)
        self.loop.add_signal_handler(signal.SIGABRT, self._abort)

    def run(self) -> None:
        assert self.loop is not None
        pool = WsgiPool(self.wsgi, self.cfg.threads)
        try:
            self.loop.run_until_complete(self._serve(pool))
        finally:
            pool.shutdown()
            self.loop.close()
            for listener in self.sockets:
                with contextlib.suppress(OSError):
                    listener.close()

    # -- signals ----------------------------------------------------------------------------

    def _stop(self) -> None:
        """SIGTERM: finish what is under way, then exit."""
        self.alive = False
        if self._stopping is not None:
            self._stopping.set()

    def _stop_now(self) -> None:
        self._quick = True
        self.cfg.worker_int(self)
        self._stop()

    def _abort(self) -> None:
        self.alive = False
        self.cfg.worker_abort(self)
        raise SystemExit(1)

    # -- serving ----------------------------------------------------------------------------

    async def _serve(self, pool: WsgiPool) -> None:
        self._stopping = asyncio.Event()
        if not self.alive:
            self._stopping.set()
        limits = limits_for(float(self.cfg.keepalive))
        self._scheme = ForwardedScheme(
            list(self.cfg.forwarded_allow_ips), dict(self.cfg.secure_scheme_headers)
        )
        room = asyncio.Semaphore(max(int(self.cfg.worker_connections), 1))
        accepting = [
            asyncio.create_task(self._accept(listener.sock, pool, limits, room))
            for listener in self.sockets
        ]
        while not self._stopping.is_set():
            self.notify()
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._stopping.wait()
        self.alive = False
        for task in accepting:
            task.cancel()
        await self._drain()

    async def _drain(self) -> None:
        """Close the connections between requests; give the others --graceful-timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(self.cfg.graceful_timeout)
        while self._tasks and not self._quick and loop.time() < deadline:
            for connection in list(self._connections):
                connection.close_if_idle()
            self.notify()
            await asyncio.wait(list(self._tasks), timeout=min(1.0, deadline - loop.time()))
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)

    async def _accept(
        self, listener: socket.socket, pool: WsgiPool, limits: Limits, room: asyncio.Semaphore
    ) -> None:
        loop = asyncio.get_running_loop()
        listener.setblocking(False)
        while True:
            await room.acquire()
            try:
                client, address = await loop.sock_accept(listener)
            except OSError as error:  # EMFILE and the like: the next try may succeed
                room.release()
                self.log.warning("Could not accept a connection: %s", error)
                await asyncio.sleep(ACCEPT_RETRY_SECONDS)
                continue
            except BaseException:
                room.release()
                raise
            task = asyncio.create_task(self._connection(client, address, pool, limits, room))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            # One connection per turn of the loop: the other workers, woken by the same
            # connection, get to accept the next one. Accepting the whole backlog at once put
            # 9 or 10 of 10 new connections on one worker (one core) and doubled the latency.
            await asyncio.sleep(0)

    async def _connection(
        self,
        client: socket.socket,
        address: Any,
        pool: WsgiPool,
        limits: Limits,
        room: asyncio.Semaphore,
    ) -> None:
        connection: HttpConnection | None = None
        try:
            reader, writer = await asyncio.open_connection(sock=client)
            server = client.getsockname()
            peer = Peer(
                client=_host_port(address),
                server=_host_port(server),
                url_scheme=self._scheme,
            )
            connection = HttpConnection(
                reader,
                writer,
                pool,
                limits,
                peer,
                stopping=lambda: not self.alive,
                answered=self._count_request,
            )
            self._connections.add(connection)
            await connection.serve()
        except OSError as error:
            self.log.debug("Connection setup failed: %s", error)
            client.close()
        finally:
            if connection is not None:
                self._connections.discard(connection)
            room.release()

    def _count_request(self) -> None:
        """gunicorn's --max-requests: a worker that has answered that many is replaced."""
        self.nr += 1
        if self.nr >= self.max_requests and self.alive:
            self.log.info("Autorestarting worker after current request.")
            self._stop()


class ForwardedScheme:
    """The request's scheme: https when a proxy gunicorn trusts (--forwarded-allow-ips) says
    so through one of --secure-scheme-headers (X-Forwarded-Proto: https from Heroku's router),
    as gunicorn's own workers decide it; http otherwise."""

    def __init__(self, allowed: list[str], secure_headers: dict[str, str]) -> None:
        self._anyone = "*" in allowed
        self._networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in allowed:
            with contextlib.suppress(ValueError):
                self._networks.append(ipaddress.ip_network(entry, strict=False))
        self._secure = {
            name.lower().encode("latin-1"): value for name, value in secure_headers.items()
        }

    def __call__(self, request: h11.Request, client_host: str) -> str:
        if not self._trusts(client_host):
            return "http"
        for name, value in request.headers:
            expected = self._secure.get(name)
            if expected is not None:
                return "https" if value.decode("latin-1") == expected else "http"
        return "http"

    def _trusts(self, host: str) -> bool:
        if self._anyone:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._networks)


def _host_port(address: Any) -> tuple[str, int]:
    if isinstance(address, tuple) and len(address) >= 2:
        return str(address[0]), int(address[1])
    return str(address), 0  # a Unix socket
