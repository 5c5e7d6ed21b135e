"""PostgreSQL for the tests: the server (TEST_DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/test), a fresh schema per test, and a TCP proxy that can cut
the connection to simulate an outage. The fixtures are in tests/conftest.py.

Without a server the PostgreSQL tests skip, saying how to enable them; with CI set they fail.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from sqlalchemy.engine import make_url

DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def _libpq_url(url: str) -> str:
    """What psycopg itself accepts (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def reachable_postgres_url() -> str:
    """A reachable PostgreSQL server, or skip (fail under CI) with how to provide one."""
    url = os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)
    try:
        with psycopg.connect(_libpq_url(url), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        message = (
            f"PostgreSQL is not reachable at {make_url(url)!r} ({' '.join(str(error).split())}). "
            "To run the PostgreSQL tests, start PostgreSQL on 127.0.0.1:5432 with a "
            "database 'test' that user postgres can use (trust auth), or point "
            "TEST_DATABASE_URL at another server."
        )
        if _in_ci():
            pytest.fail(f"CI is set and {message}", pytrace=False)
        pytest.skip(message)
    return url


@contextlib.contextmanager
def fresh_schema(postgres_url: str) -> Iterator[str]:
    """A fresh, empty schema for this test only."""
    name = f"store_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq_url(postgres_url), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(_libpq_url(postgres_url), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{name}" CASCADE')


def schema_url(server_url: str, schema: str, port: int | None = None) -> str:
    """`server_url` restricted to `schema` (and optionally reached through another port)."""
    url = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    if port is not None:
        url = url.set(port=port)
    return url.render_as_string(hide_password=False)


class TcpProxy:
    """127.0.0.1:<port> forwarded to a target; `cut()` drops every connection and refuses new
    ones (accepts and closes them at once), `restore()` lets them through again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._passing = threading.Event()
        self._passing.set()
        self._closed = False
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        self._passing.clear()
        self._close_all()

    def restore(self) -> None:
        self._passing.set()

    def close(self) -> None:
        self._closed = True
        self._passing.clear()
        self._listener.close()
        self._close_all()

    def _close_all(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._passing.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._sockets.difference_update((source, sink))
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


@dataclass
class FlakyPostgres:
    """A fresh schema on the test server, reachable directly and through a cuttable proxy."""

    url: str
    """Through the proxy: what the store under test uses."""
    direct_url: str
    """Straight to the server: for checking what landed."""
    proxy: TcpProxy

    def cut(self) -> None:
        self.proxy.cut()

    def restore(self) -> None:
        self.proxy.restore()


@contextlib.contextmanager
def flaky(postgres_url: str, postgres_schema: str) -> Iterator[FlakyPostgres]:
    server = make_url(postgres_url)
    proxy = TcpProxy((server.host or "127.0.0.1", server.port or 5432))
    try:
        yield FlakyPostgres(
            url=schema_url(postgres_url, postgres_schema, port=proxy.port),
            direct_url=schema_url(postgres_url, postgres_schema),
            proxy=proxy,
        )
    finally:
        proxy.close()
