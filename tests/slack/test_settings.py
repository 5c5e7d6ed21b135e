"""Settings from the environment, credential checks, and `framework-bot serve` in both modes:
bad configuration is one line naming the variable (exit 2), Socket Mode and the Web API client
use SLACK_API_URL, and the Procfile's worker serves HTTP when no app token is set."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from bot.settings import Settings, SettingsError, check_credentials
from bot.slack.app import RETRIED_STATUSES, GatewayErrorRetryHandler, create_app
from bot.slack.serving.server import serve
from bot.slack.serving.wsgi import SlackWsgiApp, create_wsgi_app
from bot.store import Store, create_store
from tests.support.fake_slack import FakeSlack
from tests.support.slack_fixtures import BOT_TOKEN, SIGNING_SECRET, Post
from tests.support.slack_requests import slash_command
from tests.support.web_process import WebProcess

PROJECT = Path(__file__).resolve().parents[2]
ENV_NAMES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "PORT",
    "KNOWLEDGE_DIR",
    "LOG_LEVEL",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_SCOPES",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def test_settings_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in {
        "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
        "SLACK_SIGNING_SECRET": "0123abcd",
        "SLACK_APP_TOKEN": "xapp-1-A1-xyz",
        "SLACK_API_URL": "https://slack-gov.com/api",
        "PORT": "8080",
        "KNOWLEDGE_DIR": str(tmp_path),
        "LOG_LEVEL": "debug",
    }.items():
        monkeypatch.setenv(name, value)

    settings = Settings()

    assert settings.secret("bot_token") == "xoxb-1-2-abc"
    assert settings.secret("signing_secret") == "0123abcd"
    assert settings.secret("app_token") == "xapp-1-A1-xyz"
    assert settings.slack_api_url == "https://slack-gov.com/api/"
    assert (settings.port, settings.knowledge_dir, settings.log_level) == (8080, tmp_path, "DEBUG")
    assert settings.socket_mode
    assert "xoxb-1-2-abc" not in repr(settings)


def test_defaults_and_blank_values() -> None:
    settings = Settings(slack_bot_token="  ", slack_app_token="", knowledge_dir="")

    assert settings.slack_bot_token is None
    assert settings.slack_app_token is None
    assert settings.knowledge_dir is None
    assert settings.slack_api_url == "https://slack.com/api/"
    assert (settings.port, settings.log_level) == (3000, "INFO")
    assert not settings.socket_mode


BAD_SETTINGS = [
    ("SLACK_BOT_TOKEN", "xoxp-user-token-secret", "xoxb-"),
    ("SLACK_BOT_TOKEN", "xoxb-with space", "xoxb-"),
    ("SLACK_APP_TOKEN", "xoxb-not-an-app-token", "xapp-"),
    ("SLACK_SIGNING_SECRET", "has a space", "spaces"),
    ("SLACK_API_URL", "ftp://files.example", "http"),
    ("PORT", "eighty", "whole number"),
    ("PORT", "70000", "PORT"),
    ("LOG_LEVEL", "loud", "DEBUG, INFO"),
]


@pytest.mark.parametrize(("name", "value", "hint"), BAD_SETTINGS)
def test_a_bad_setting_is_one_line_naming_the_variable_without_its_value(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, hint: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError) as raised:
        Settings()

    message = str(raised.value)
    assert message.startswith(name)
    assert hint in message
    assert "\n" not in message
    assert value not in message


def test_several_bad_settings_are_reported_together_on_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "nope")
    monkeypatch.setenv("PORT", "nope")

    with pytest.raises(SettingsError) as raised:
        Settings()

    message = str(raised.value)

    assert "SLACK_BOT_TOKEN" in message
    assert "PORT" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({}, ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]),
        ({"slack_bot_token": "xoxb-1"}, ["SLACK_SIGNING_SECRET"]),
        ({"slack_signing_secret": "s"}, ["SLACK_BOT_TOKEN"]),
        ({"slack_app_token": "xapp-1"}, ["SLACK_BOT_TOKEN"]),
        ({"slack_client_id": "1.2", "slack_client_secret": "c"}, ["SLACK_SIGNING_SECRET"]),
        ({"slack_client_id": "1.2", "slack_signing_secret": "s"}, ["SLACK_CLIENT_SECRET"]),
        ({"slack_client_secret": "c", "slack_bot_token": "xoxb-1"}, ["SLACK_CLIENT_ID"]),
        (
            {"slack_client_id": "1.2", "slack_client_secret": "c", "slack_app_token": "xapp-1"},
            ["SLACK_CLIENT_ID", "SLACK_APP_TOKEN"],
        ),
    ],
)
def test_missing_credentials_are_named_for_the_mode_in_use(
    values: dict[str, str], named: list[str]
) -> None:
    problem = check_credentials(Settings(**values))

    assert problem is not None
    assert "\n" not in problem
    for name in named:
        assert name in problem
    for name in {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"} - set(named):
        assert name not in problem.split(";")[0]


@pytest.mark.parametrize(
    "values",
    [
        {"slack_bot_token": "xoxb-1", "slack_signing_secret": "s"},
        {"slack_bot_token": "xoxb-1", "slack_app_token": "xapp-1"},
        {"slack_client_id": "1.2", "slack_client_secret": "c", "slack_signing_secret": "s"},
    ],
)
def test_complete_credentials_pass(values: dict[str, str]) -> None:
    assert check_credentials(Settings(**values)) is None


def test_the_oauth_install_settings_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_CLIENT_ID", "1111.2222")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret-value")
    monkeypatch.setenv("SLACK_SCOPES", "chat:write, commands im:write")

    settings = Settings()

    assert settings.oauth
    assert settings.slack_client_id == "1111.2222"
    assert settings.secret("client_secret") == "client-secret-value"
    assert settings.scopes == ["chat:write", "commands", "im:write"]
    assert "client-secret-value" not in repr(settings)


@pytest.mark.parametrize(
    "values",
    [{"slack_client_id": "1.2"}, {"slack_client_secret": "c"}, {"slack_client_id": " "}],
)
def test_the_oauth_install_needs_both_the_client_id_and_secret(values: dict[str, str]) -> None:
    assert not Settings(**values).oauth


def test_the_wsgi_app_of_an_oauth_install_needs_no_bot_token(
    fake_slack: FakeSlack, tmp_path: Path, migrated_copy: Callable[[Path], Path]
) -> None:
    settings = Settings(
        slack_client_id="1.2",
        slack_client_secret="c",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.base_url,
    )
    store = create_store(None, migrated_copy(tmp_path))
    try:
        app = create_wsgi_app(settings, store=store)
    finally:
        store.close()

    assert isinstance(app, SlackWsgiApp)
    assert app.app.oauth_flow is not None


def test_the_app_without_the_oauth_install_needs_a_bot_token() -> None:
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN"):
        create_app(Settings(slack_signing_secret=SIGNING_SECRET))


def test_serve_without_credentials_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = serve(Settings(slack_bot_token="xoxb-1"))

    error = capsys.readouterr().err
    assert code == 2
    assert error.count("\n") == 1
    assert "SLACK_SIGNING_SECRET" in error


def test_the_wsgi_app_refuses_to_start_without_the_signing_secret() -> None:
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        create_wsgi_app(Settings(slack_bot_token="xoxb-1"))


def test_the_web_api_client_uses_slack_api_url_and_retries_429_5xx_and_connection_errors(
    slack_settings: Settings, fake_slack: FakeSlack, slack_store: Store
) -> None:
    app = create_app(slack_settings, store=slack_store)

    assert app.client.base_url == fake_slack.base_url
    handlers = app.client.retry_handlers
    for kind in (ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, ServerErrorRetryHandler):
        assert any(isinstance(handler, kind) for handler in handlers), kind
    assert any(isinstance(handler, GatewayErrorRetryHandler) for handler in handlers)
    assert {502, 504} <= RETRIED_STATUSES  # slack_sdk's own handler retries 500 and 503 only


@pytest.mark.slow
def test_socket_mode_connects_through_slack_api_url_with_the_app_token(
    fake_slack: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(
        slack_bot_token=BOT_TOKEN, slack_app_token="xapp-1-test", slack_api_url=fake_slack.base_url
    )

    code = serve(settings)

    opened = fake_slack.wait_for("apps.connections.open")[0]
    assert opened.token == "xapp-1-test"
    assert code == 1
    assert "Socket Mode" in capsys.readouterr().err


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=PROJECT,
        env={**clean, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SLACK_BOT_TOKEN": "xoxp-wrong-kind"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_CLIENT_ID": "1.2", "SLACK_SIGNING_SECRET": "s"}, "SLACK_CLIENT_SECRET"),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "DATABASE_URL": "mysql://x/y",
            },
            "DATABASE_URL",
        ),
    ],
)
def test_framework_bot_serve_with_bad_credentials_exits_2_naming_the_variable(
    env: dict[str, str], variable: str
) -> None:
    finished = _cli("serve", env=env)

    assert finished.returncode == 2
    assert finished.stderr.count("\n") == 1
    assert variable in finished.stderr
    assert "xoxp-wrong-kind" not in finished.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_CLIENT_SECRET": "c"}, "SLACK_CLIENT_ID"),
    ],
)
def test_the_bare_command_serves_slack_when_only_oauth_credentials_are_set(
    env: dict[str, str], variable: str
) -> None:
    finished = _cli(env=env)

    assert finished.returncode == 2
    assert finished.stderr.startswith("framework-bot serve:")
    assert variable in finished.stderr


@pytest.mark.slow
def test_the_procfile_worker_serves_http_when_no_app_token_is_set(
    fake_slack: FakeSlack, post: Post
) -> None:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.base_url,
        "WEB_CONCURRENCY": "1",
    }
    with WebProcess(env, process_type="worker") as worker:
        response = post(
            worker.url,
            "slash_command",
            slash_command("help", response_url=fake_slack.response_url("worker")),
        )

        assert response.status == 200
        assert fake_slack.wait_for_response(1)[0].token == "worker"
