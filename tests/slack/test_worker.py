"""The gunicorn worker's own decisions, without starting gunicorn: what it checks at boot, where
its deadlines come from, and which scheme it tells the app. The worker serving for real is in
tests/slack/test_slow_clients.py."""

from __future__ import annotations

import asyncio
import sys

import h11
import pytest
from gunicorn.config import Config
from gunicorn.workers.base import Worker

from bot.settings import SettingsError
from bot.slack.serving.worker import (
    CFG_SETTINGS,
    GIL_SWITCH_SECONDS,
    BufferingWorker,
    ForwardedScheme,
    check_gunicorn,
    limits_for,
)
from bot.slack.serving.wsgi import MAX_BODY_BYTES


def test_this_gunicorn_has_every_setting_the_worker_reads() -> None:
    check_gunicorn(Config())


def test_a_gunicorn_without_a_setting_the_worker_reads_stops_it_naming_the_setting() -> None:
    class Older:
        pass

    config = Older()
    for name in CFG_SETTINGS:
        if name != "worker_connections":
            setattr(config, name, None)

    with pytest.raises(RuntimeError, match="no worker_connections setting"):
        check_gunicorn(config)


def test_tls_in_the_worker_is_refused_at_boot_saying_where_tls_belongs() -> None:
    config = Config()
    config.set("certfile", "/nonexistent/cert.pem")

    with pytest.raises(RuntimeError, match="serves plain HTTP"):
        check_gunicorn(config)


def test_the_deadlines_default_to_5_and_10_seconds_and_the_body_cap_is_the_apps() -> None:
    limits = limits_for(keepalive_seconds=2)

    assert (limits.header_seconds, limits.body_seconds, limits.keepalive_seconds) == (5, 10, 2)
    assert limits.max_body_bytes == MAX_BODY_BYTES


def test_the_deadlines_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_HEADER_TIMEOUT_SECONDS", "1.5")
    monkeypatch.setenv("HTTP_BODY_TIMEOUT_SECONDS", "4")

    limits = limits_for(keepalive_seconds=2)

    assert (limits.header_seconds, limits.body_seconds) == (1.5, 4)


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_deadline_that_cannot_work_is_reported_by_name(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    from bot.settings import Settings

    monkeypatch.setenv("HTTP_HEADER_TIMEOUT_SECONDS", value)

    with pytest.raises(SettingsError, match="HTTP_HEADER_TIMEOUT_SECONDS"):
        Settings()
    # The worker falls back to the defaults; the app, loading, stops the worker by that name.
    assert limits_for(keepalive_seconds=2).header_seconds == 5


def request(*headers: tuple[str, str]) -> h11.Request:
    return h11.Request(method="POST", target="/slack/events", headers=[("Host", "x"), *headers])


@pytest.mark.parametrize(
    ("allowed", "client", "headers", "scheme"),
    [
        (["127.0.0.1", "::1"], "127.0.0.1", [("X-Forwarded-Proto", "https")], "https"),
        (["127.0.0.1", "::1"], "127.0.0.1", [("X-Forwarded-Proto", "http")], "http"),
        (["127.0.0.1", "::1"], "127.0.0.1", [], "http"),
        (["127.0.0.1", "::1"], "192.0.2.7", [("X-Forwarded-Proto", "https")], "http"),
        (["*"], "192.0.2.7", [("X-Forwarded-Proto", "https")], "https"),
        (["192.0.2.0/24"], "192.0.2.7", [("X-Forwarded-Ssl", "on")], "https"),
    ],
    ids=[
        "trusted proxy says https",
        "trusted proxy says http",
        "trusted proxy says nothing",
        "untrusted client cannot claim https",
        "every proxy trusted (Heroku's FORWARDED_ALLOW_IPS=*)",
        "a trusted network",
    ],
)
def test_the_scheme_is_https_only_when_a_trusted_proxy_says_so(
    allowed: list[str], client: str, headers: list[tuple[str, str]], scheme: str
) -> None:
    forwarded = ForwardedScheme(allowed, Config().secure_scheme_headers)

    assert forwarded(request(*headers), client) == scheme


def test_a_worker_lets_the_thread_with_an_ack_to_send_take_the_gil_within_half_a_millisecond(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Worker, "init_process", lambda worker: None)  # signals, the app, run()
    default = sys.getswitchinterval()
    worker = BufferingWorker.__new__(BufferingWorker)
    worker.cfg = Config()
    try:
        worker.init_process()
        assert sys.getswitchinterval() == pytest.approx(GIL_SWITCH_SECONDS)
    finally:
        sys.setswitchinterval(default)
        asyncio.set_event_loop(None)
        if worker.loop is not None:
            worker.loop.close()
