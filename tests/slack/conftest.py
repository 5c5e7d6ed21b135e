"""Fixtures for the Slack end-to-end tests: a fake Slack Web API, the app, and signed requests.

`bot.*` is imported inside the fixtures, so the helpers here work before the app exists.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.fake_slack import FakeSlack
from tests.support.slack_fixtures import (
    BOT_TOKEN,
    SIGNING_SECRET,
    GunicornServer,
    Post,
    Send,
    web_env,
)
from tests.support.slack_requests import (
    Response,
    WsgiApp,
    call_wsgi,
    events_url,
    http_request,
    prepare,
)
from tests.support.web_process import WebProcess

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.settings import Settings
    from bot.store import Store


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A started fake Slack Web API on 127.0.0.1, stopped after the test."""
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def slack_settings(fake_slack: FakeSlack) -> Settings:
    """Settings with fake credentials, pointing every Web API call at `fake_slack`."""
    from bot.settings import Settings

    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_app_token=None,
        slack_api_url=fake_slack.base_url,
    )


@pytest.fixture
def slack_store(tmp_path: Path, migrated_store_dir: Path) -> Iterator[Store]:
    """The app's store: SQLite in a fresh folder; tests read what the app recorded from it."""
    from bot.store import create_store

    shutil.copytree(migrated_store_dir, tmp_path / "store")
    store = create_store(None, tmp_path / "store")
    yield store
    store.close()


@pytest.fixture
def slack_app(slack_settings: Settings, slack_store: Store) -> App:
    """The Bolt app built by the factory, talking to `fake_slack`."""
    from bot.slack.app import create_app

    return create_app(slack_settings, store=slack_store)


@pytest.fixture
def wsgi_app(slack_settings: Settings, slack_store: Store) -> Iterator[WsgiApp]:
    """The WSGI callable gunicorn serves, built from `slack_settings`, on `slack_store`; what
    it runs in the background is stopped after the test."""
    from bot.slack.serving.wsgi import create_wsgi_app

    app = create_wsgi_app(slack_settings, store=slack_store)
    yield app
    app.close()


@pytest.fixture
def call(wsgi_app: WsgiApp) -> Callable[..., Response]:
    """call(method, path, body=b"", headers=None) -> Response: a raw request to `wsgi_app`."""

    def call_app(
        method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> Response:
        return call_wsgi(wsgi_app, method, path, body, headers)

    return call_app


def _signed(
    kind: str,
    payload: Mapping[str, Any] | None,
    *,
    headers: Mapping[str, str] | None = None,
    signed: bool = True,
    timestamp: int | None = None,
    raw_body: str | bytes | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The wire body and headers of a request from Slack (signed unless signed=False)."""
    return prepare(
        kind,
        payload,
        secret=SIGNING_SECRET,
        headers=headers,
        signed=signed,
        timestamp=timestamp,
        raw_body=raw_body,
    )


@pytest.fixture
def send(wsgi_app: WsgiApp) -> Send:
    """send(kind, payload, ...) -> Response: encode, sign and POST /slack/events in process.

    `kind` is a builder name (slash_command, app_mention, direct_message, block_actions, ...)
    or a wire format (command, interactive, event). `raw_body` replaces the encoded payload
    (it is still signed unless signed=False); `headers` are added last and override.
    """

    def send_request(kind: str, payload: Mapping[str, Any] | None, **options: Any) -> Response:
        body, headers = _signed(kind, payload, **options)
        return call_wsgi(wsgi_app, "POST", "/slack/events", body, headers)

    return send_request


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GunicornServer]:
    """The Procfile's `web:` command on a free port against its own FakeSlack (module scope).

    Tests sharing it should call `gunicorn_server.fake.reset()` first.
    """
    with FakeSlack() as fake:
        env = web_env(fake, tmp_path_factory.mktemp("gunicorn-data"))
        with WebProcess(env) as process:
            yield GunicornServer(process.url, process.events_url, fake, process)


@pytest.fixture
def post() -> Post:
    """post(url, kind, payload, ...) -> Response over HTTP; a bare server URL gets /slack/events."""

    def post_request(
        url: str, kind: str, payload: Mapping[str, Any] | None, **options: Any
    ) -> Response:
        body, headers = _signed(kind, payload, **options)
        return http_request(events_url(url), "POST", body, headers)

    return post_request
