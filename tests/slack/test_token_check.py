"""At start-up the bot asks Slack (auth.test) whether its token is good: `serve` logs the mode
and the workspace it runs as, or exits with what to do when Slack rejects the token, and
/healthz says which it is."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.slack.platform.token_check import TokenCheck, startup_line
from bot.slack.serving.server import serve
from bot.slack.serving.wsgi import create_wsgi_app
from bot.store import create_store
from tests.support.fake_slack import BOT_NAME, TEAM_ID, FakeSlack
from tests.support.slack_requests import call_wsgi
from tests.support.web_process import free_port


def _health(app, *, until: str | None = None) -> tuple[int, dict]:
    """GET /healthz, polled until the token check has run (it runs in the background)."""
    deadline = time.monotonic() + 10
    while True:
        response = call_wsgi(app, "GET", "/healthz")
        report = response.json()
        if report["slack_token"] != "unchecked: checking" or (time.monotonic() > deadline):
            return response.status, report
        time.sleep(0.02)


@pytest.fixture
def store_dir(tmp_path: Path, migrated_store_dir: Path) -> Path:
    """A data folder whose store is migrated already (a copy of the template)."""
    shutil.copytree(migrated_store_dir, tmp_path / "store")
    return tmp_path / "store"


@pytest.fixture
def health(slack_settings: Settings, store_dir: Path):
    """health(settings) -> /healthz's status and report from a fresh web app, once its
    background token check has run."""

    def check(settings: Settings = slack_settings) -> tuple[int, dict]:
        store = create_store(None, store_dir)
        app = create_wsgi_app(settings, store=store)
        try:
            return _health(app)
        finally:
            app.close()  # a check still retrying (Slack unreachable) must not outlive the test
            store.close()

    return check


def test_healthz_names_the_workspace_slack_accepted_the_token_for(health) -> None:
    status, report = health()

    assert status == 200
    assert report["status"] == "ok"
    assert report["slack_token"].startswith("accepted: workspace ")
    assert TEAM_ID in report["slack_token"]


def test_healthz_says_when_slack_rejected_the_token(health, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("auth.test", error="invalid_auth")

    status, report = health()

    assert status == 503
    assert report["status"] == "error"
    assert report["slack_token"] == "rejected: invalid_auth"


@pytest.mark.slow  # waits out slack_sdk's back-off after the refused connection (0.5-1.5 s)
def test_healthz_with_slack_unreachable_still_answers_and_says_unchecked(
    slack_settings: Settings, health
) -> None:
    unreachable = slack_settings.model_copy(update={"slack_api_url": "http://127.0.0.1:9/api/"})

    status, report = health(unreachable)

    assert status == 200
    assert report["slack_token"].startswith("unchecked: Slack could not be reached")


@pytest.mark.slow  # waits out slack_sdk's back-off after the refused connection (0.5-1.5 s)
def test_a_closed_web_app_stops_retrying_the_token_check(
    slack_settings: Settings, store_dir: Path
) -> None:
    unreachable = slack_settings.model_copy(update={"slack_api_url": "http://127.0.0.1:9/api/"})
    store = create_store(None, store_dir)
    app = create_wsgi_app(unreachable, store=store)
    before = set(threading.enumerate())
    try:
        _health(app)  # the check could not reach Slack: it would try again in a minute
        checking = [t for t in set(threading.enumerate()) - before if t.name == "token-check"]
        assert checking
    finally:
        app.close()
        store.close()

    assert not any(thread.is_alive() for thread in checking)


def _socket_mode(settings: Settings) -> Settings:
    return Settings(
        slack_bot_token=settings.secret("bot_token"),
        slack_app_token="xapp-1-test",
        slack_api_url=settings.slack_api_url,
    )


@pytest.mark.parametrize("mode", ["socket", "http"])
def test_serve_exits_2_with_what_to_do_when_slack_rejects_the_token(
    slack_settings: Settings, fake_slack: FakeSlack, mode: str, capsys
) -> None:
    settings = _socket_mode(slack_settings) if mode == "socket" else slack_settings
    fake_slack.fail_next("auth.test", error="invalid_auth")

    assert serve(settings) == 2

    err = capsys.readouterr().err
    assert "Slack rejected SLACK_BOT_TOKEN (invalid_auth)" in err
    assert "Bot User OAuth Token" in err
    assert not fake_slack.calls_to("apps.connections.open")


@pytest.mark.slow  # Socket Mode: closing its client waits for its loops (about a second)
def test_socket_mode_logs_one_line_naming_the_mode_and_the_workspace(
    slack_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _socket_mode(slack_settings)
    with caplog.at_level(logging.INFO, logger="bot.slack.platform.token_check"):
        serve(settings)  # the fake refuses the connection afterwards: the line comes first

    lines = [r.getMessage() for r in caplog.records if r.name == "bot.slack.platform.token_check"]
    assert lines == [f"Serving Slack in Socket Mode as @{BOT_NAME} in workspace Fake Workspace "
                     f"({TEAM_ID})"]  # fmt: skip


def test_the_oauth_install_has_no_single_token_to_check() -> None:
    line = startup_line("HTTP mode", TokenCheck("per-workspace"))

    assert "every workspace that installs the app" in line


def _procfile_web_line() -> str:
    procfile = Path(__file__).resolve().parents[2] / "Procfile"
    for line in procfile.read_text(encoding="utf-8").splitlines():
        if line.startswith("web:"):
            return line.partition(":")[2].strip()
    raise AssertionError("no web: line")


@pytest.mark.slow
def test_the_procfile_web_line_stops_when_slack_rejects_the_token(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """gunicorn.conf.py checks the token in gunicorn's master, before any worker starts."""
    fake_slack.fail_next("auth.test", error="invalid_auth")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PORT=str(free_port()),
        SLACK_BOT_TOKEN="xoxb-0000-fake",
        SLACK_SIGNING_SECRET="fake-signing-secret",
        SLACK_API_URL=fake_slack.base_url,
        DATA_DIR=str(tmp_path),
    )

    result = subprocess.run(
        ["/bin/sh", "-c", f"exec {_procfile_web_line()}"],
        cwd=Path(__file__).resolve().parents[2],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode != 0
    assert "Slack rejected SLACK_BOT_TOKEN (invalid_auth)" in result.stderr
