"""What the Slack tests share besides fixtures: the fake credentials, and the types of the
`send`, `post` and `gunicorn_server` fixtures (tests/slack/conftest.py). Test modules import
them from here rather than from a conftest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tests.support.fake_slack import FakeSlack
from tests.support.slack_requests import Response
from tests.support.web_process import WebProcess

BOT_TOKEN = "xoxb-test-token"
SIGNING_SECRET = "test-signing-secret"


def web_env(fake: FakeSlack, data_dir: Path, **env: str) -> dict[str, str]:
    """The environment of a web process with the fake credentials, against `fake`, keeping
    its SQLite store in `data_dir`; `env` adds to it."""
    return {
        "DATA_DIR": str(data_dir),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.base_url,
        **env,
    }


class Send(Protocol):
    def __call__(
        self,
        kind: str,
        payload: Mapping[str, Any] | None,
        *,
        headers: Mapping[str, str] | None = None,
        signed: bool = True,
        timestamp: int | None = None,
        raw_body: str | bytes | None = None,
    ) -> Response: ...


class Post(Protocol):
    def __call__(
        self,
        url: str,
        kind: str,
        payload: Mapping[str, Any] | None,
        *,
        headers: Mapping[str, str] | None = None,
        signed: bool = True,
        timestamp: int | None = None,
        raw_body: str | bytes | None = None,
    ) -> Response: ...


@dataclass(frozen=True)
class GunicornServer:
    """The Procfile's web process: `url` is its root, `events_url` its Slack endpoint."""

    url: str
    events_url: str
    fake: FakeSlack
    process: WebProcess

    def output(self) -> str:
        """What the server logged so far (stdout and stderr)."""
        return self.process.output()
