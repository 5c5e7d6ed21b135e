"""Configuration, read once from the environment into one typed object.

Every problem is reported on one line that names the environment variable to fix, and a
secret's value is never echoed (pydantic's own messages would print the bad token).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_SLACK_API_URL = "https://slack.com/api/"

_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,30}$")

BOT_TOKEN_PREFIX = "xoxb-"
APP_TOKEN_PREFIX = "xapp-"

_ENV_NAMES = {
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_api_url": "SLACK_API_URL",
    "port": "PORT",
    "knowledge_dir": "KNOWLEDGE_DIR",
    "log_level": "LOG_LEVEL",
    "database_url": "DATABASE_URL",
    "data_dir": "DATA_DIR",
    "retention_days": "RETENTION_DAYS",
    "curator_ids": "CURATOR_IDS",
    "slack_client_id": "SLACK_CLIENT_ID",
    "slack_client_secret": "SLACK_CLIENT_SECRET",
    "slack_scopes": "SLACK_SCOPES",
    "knowledge_sync_seconds": "KNOWLEDGE_SYNC_SECONDS",
    "review_after_days": "REVIEW_AFTER_DAYS",
    "digest_channel": "DIGEST_CHANNEL",
    "digest_weekday": "DIGEST_WEEKDAY",
    "digest_hour": "DIGEST_HOUR",
    "digest_check_seconds": "DIGEST_CHECK_SECONDS",
    "slack_api_timeout_seconds": "SLACK_API_TIMEOUT_SECONDS",
    "response_url_timeout_seconds": "RESPONSE_URL_TIMEOUT_SECONDS",
    "health_report_seconds": "HEALTH_REPORT_SECONDS",
    "http_header_timeout_seconds": "HTTP_HEADER_TIMEOUT_SECONDS",
    "http_body_timeout_seconds": "HTTP_BODY_TIMEOUT_SECONDS",
}


class SettingsError(ValueError):
    """Configuration that cannot work; its message is one line naming the variables."""


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseSettings):
    """The app's settings. Field `x` is read from the environment variable `X`."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    port: int = Field(default=3000, ge=1, le=65535)
    knowledge_dir: Path | None = None
    log_level: LogLevel = "INFO"
    database_url: SecretStr | None = None
    data_dir: Path = Path("data")
    retention_days: int = Field(default=90, ge=1)
    curator_ids: str = ""
    """Comma- or space-separated Slack user ids allowed `/framework stats` and `reload`
    (workspace admins and owners always are)."""
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_scopes: str = ""
    """Bot scopes requested by the OAuth install, comma-separated (manifest.yml's by default)."""
    knowledge_sync_seconds: float = Field(default=15.0, gt=0)
    """How often an instance checks the store for knowledge reloaded by another instance."""
    review_after_days: int = Field(default=180, ge=1)
    """`kb check` warns about an entry whose `reviewed` date is older than this."""
    inbox_lease_seconds: float = Field(default=60.0, gt=0)
    """How long the instance that acknowledged a mention or DM has to answer it before another
    instance may (the durable inbox)."""
    inbox_sweep_seconds: float = Field(default=15.0, gt=0)
    """How often an instance looks for acknowledged mentions and DMs nobody answered."""
    answer_process: bool = True
    """HTTP mode: each web worker answers mentions and DMs in a process beside it, so that an
    answer never delays an acknowledgement (one more process per worker, about 180 MB with
    multiprocessing's resource tracker). Off: the worker answers them in its own threads."""
    digest_channel: str | None = None
    """The channel id (C…/G…) the curators' weekly digest is posted in. Unset: each of
    CURATOR_IDS gets it in their DM; neither set: no digest."""
    digest_weekday: int = Field(default=1, ge=1, le=7)
    """The day the weekly digest is due, ISO numbering (1 Monday … 7 Sunday)."""
    digest_hour: int = Field(default=9, ge=0, le=23)
    """The hour (UTC) on DIGEST_WEEKDAY from which the weekly digest is due."""
    digest_check_seconds: float = Field(default=300.0, gt=0)
    """How often an instance checks whether this week's digest is due and still unsent (the
    first check comes one interval after start)."""
    slack_api_timeout_seconds: float = Field(default=10.0, gt=0)
    """How long a Web API call may take to answer. One that takes longer may still have been
    carried out: the person is told it may not have arrived, and it is not sent again."""
    response_url_timeout_seconds: float = Field(default=30.0, gt=0)
    """The same for posts to a response URL (a slash command's or a click's)."""
    health_report_seconds: float = Field(default=10.0, gt=0)
    """How often an instance writes its store figures to the database, for /healthz on any
    instance to add up."""
    http_header_timeout_seconds: float = Field(default=5.0, gt=0)
    """HTTP mode: a connection whose request line and headers have not all arrived this long
    after it opened (or, kept alive, after its next request began) is answered 408 and closed."""
    http_body_timeout_seconds: float = Field(default=10.0, gt=0)
    """HTTP mode: the same for a request body, counted from the end of its headers."""

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise SettingsError(_one_line(error)) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment. No .env file and no secrets folder are configured,
        so their sources would find nothing; the .env one would still read every field from the
        environment a second time (half of what building Settings costs)."""
        return init_settings, env_settings

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "database_url",
        "slack_client_id",
        "slack_client_secret",
        "digest_channel",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        return _check_token(value, BOT_TOKEN_PREFIX, "a bot token")

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        return _check_token(value, APP_TOKEN_PREFIX, "an app-level token with connections:write")

    @field_validator("slack_signing_secret")
    @classmethod
    def _signing_secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and any(c.isspace() for c in value.get_secret_value()):
            raise ValueError("must not contain spaces (copy it from Basic Information)")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_shape(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("digest_channel")
    @classmethod
    def _digest_channel_shape(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not _CHANNEL_ID.match(value):
            raise ValueError(
                "must be a channel id such as C0123ABCD (in Slack: the channel's name > "
                "About, at the bottom), not its name"
            )
        return value

    @field_validator("knowledge_dir", mode="before")
    @classmethod
    def _blank_dir_is_default(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    def secret(
        self, name: Literal["bot_token", "signing_secret", "app_token", "client_secret"]
    ) -> str | None:
        """The plain value of a credential, or None when it is not set."""
        value: SecretStr | None = getattr(self, f"slack_{name}")
        return value.get_secret_value() if value is not None else None

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def oauth(self) -> bool:
        """Multi-workspace install: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set, and tokens
        come from the installations stored by the OAuth flow."""
        return self.slack_client_id is not None and self.slack_client_secret is not None

    @property
    def curators(self) -> frozenset[str]:
        return frozenset(_split_list(self.curator_ids))

    @property
    def digest_enabled(self) -> bool:
        """The weekly digest is sent: DIGEST_CHANNEL or CURATOR_IDS is set."""
        return self.digest_channel is not None or bool(self.curators)

    @property
    def scopes(self) -> list[str]:
        return _split_list(self.slack_scopes)

    def configure_logging(self) -> None:
        """Log at LOG_LEVEL; keeps a handler someone (gunicorn, pytest) already installed."""
        root = logging.getLogger()
        if not root.handlers:
            logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        root.setLevel(self.log_level)


def _split_list(value: str) -> list[str]:
    return [item for item in value.replace(",", " ").split() if item]


def _check_token(value: SecretStr | None, prefix: str, what: str) -> SecretStr | None:
    if value is None:
        return None
    token = value.get_secret_value()
    if not token.startswith(prefix) or any(c.isspace() for c in token):
        raise ValueError(f"must be {what} starting with {prefix} (with no spaces)")
    return value


def _one_line(error: ValidationError) -> str:
    """`SLACK_BOT_TOKEN must be …; PORT must be …` without echoing any value."""
    parts = []
    for detail in error.errors(include_input=False, include_url=False):
        field = str(detail["loc"][0]) if detail["loc"] else "settings"
        name = _ENV_NAMES.get(field, field.upper())
        message = str(detail["msg"]).removeprefix("Value error, ")
        if detail["type"] == "literal_error":
            message = "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
        elif detail["type"] in {"int_parsing", "int_type"}:
            message = "must be a whole number"
        elif not message.startswith("must"):
            message = f"is invalid: {message[0].lower()}{message[1:]}"
        parts.append(f"{name} {message}")
    return "; ".join(parts)


def check_credentials(settings: Settings) -> str | None:
    """What is missing for `serve`, as one line naming the variable; None when it can start.

    Socket Mode (SLACK_APP_TOKEN set) needs the app token and the bot token; HTTP mode needs
    the signing secret and either the bot token or, for a multi-workspace install, the OAuth
    client id and secret (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET)."""
    oauth = {
        "SLACK_CLIENT_ID": settings.slack_client_id,
        "SLACK_CLIENT_SECRET": settings.slack_client_secret,
    }
    half_set = [name for name, value in oauth.items() if value is None]
    if len(half_set) == 1:
        other = next(name for name in oauth if name not in half_set)
        return f"{half_set[0]} is not set; the OAuth install needs it along with {other}"
    if settings.socket_mode:
        if settings.oauth:
            return (
                "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET (OAuth install) need HTTP mode; "
                "unset SLACK_APP_TOKEN, or unset them to use Socket Mode with SLACK_BOT_TOKEN"
            )
        needed = {"SLACK_BOT_TOKEN": settings.slack_bot_token}
        mode = "Socket Mode (SLACK_APP_TOKEN is set)"
    elif settings.oauth:
        needed = {"SLACK_SIGNING_SECRET": settings.slack_signing_secret}
        mode = "the OAuth install (SLACK_CLIENT_ID is set)"
    else:
        needed = {
            "SLACK_BOT_TOKEN": settings.slack_bot_token,
            "SLACK_SIGNING_SECRET": settings.slack_signing_secret,
        }
        mode = "HTTP mode (set SLACK_APP_TOKEN for Socket Mode instead)"
    missing = [name for name, value in needed.items() if value is None]
    if not missing:
        return None
    names = " and ".join(missing)
    verb = "is" if len(missing) == 1 else "are"
    return f"{names} {verb} not set; {mode} needs {'it' if len(missing) == 1 else 'them'}"
