"""The tables, as SQLAlchemy Core. Every row that belongs to a workspace carries its `team_id`.

This is the schema at the newest migration; bot/store/migrations holds the steps that build it,
and a test checks the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)

from bot.store.folding import storable


class _Storable(TypeDecorator[str]):
    """Text without the code points a database refuses (NUL, lone surrogates), stripped here
    whoever stores it: Slack's payloads are cleaned where they are parsed, but the CLI, the
    terminal and the workflow step store text too, and a refused record would be lost."""

    impl: Any = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return storable(value) if isinstance(value, str) else value


class StorableText(_Storable):
    """TEXT, stripped as _Storable says."""

    cache_ok = True


class StorableString(_Storable):
    """A VARCHAR(length), stripped as _Storable says."""

    impl = String
    cache_ok = True  # set on every class: SQLAlchemy does not inherit it


ID = StorableString(64)
"""Slack ids (T…, C…, U…) and knowledge ids both fit."""
KEY = StorableString(255)
"""Slack event ids and message keys (channel + ts)."""
SERIAL = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit key; SQLite auto-increments only INTEGER PRIMARY KEY."""
UID = StorableString(32)
"""An id made by the app before the row is written (a hex UUID), e.g. a question's."""


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the backend stores (SQLite keeps naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give the store aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        return stored.replace(tzinfo=UTC) if stored.tzinfo is None else stored.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

events = Table(
    "events",
    metadata,
    Column("event_id", KEY, primary_key=True),
    Column("team_id", ID, nullable=True),
    Column("claimed_at", UtcDateTime(), nullable=False),
    Column("body", Text, nullable=True),  # the delivery, kept until it is answered
    Column("lease_until", UtcDateTime(), nullable=True),  # who answers it holds it till then
    Column("done_at", UtcDateTime(), nullable=True),  # NULL: acknowledged, not yet answered
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    # Set (committed) just before the reply is posted: the id its metadata carries. With no
    # done_at, the reply may be in Slack already (the process died after posting it).
    Column("reply_uid", UID, nullable=True),
    Index(None, "claimed_at"),
    Index(None, "team_id"),
    Index(None, "done_at", "lease_until"),
)
"""Slack events claimed by some instance, one row per event_id; pruned after a day. A row
with a body and no done_at is the durable inbox: a mention or DM acknowledged and not yet
answered, which any instance picks up once its lease has run out. `attempts` counts the
leases after the first, so it names the lease holder: a sending mark is made only by the
holder of the attempt it read."""

meta = Table(
    "meta",
    metadata,
    Column("key", ID, primary_key=True),
    Column("value", StorableText(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
"""Small shared values, such as the knowledge version stamp."""

questions = Table(
    "questions",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("team_id", ID, nullable=False),
    Column("channel_id", ID, nullable=True),
    Column("user_id", ID, nullable=True),
    Column("text", StorableText(), nullable=True),  # NULL once older than the retention
    Column("normalized", StorableText(), nullable=True),  # `text` folded; purged with it
    Column("entry_id", ID, nullable=True),  # NULL when the bot was not sure
    Column("score", Float, nullable=True),
    Column("closest", JSON, nullable=False),  # [{"entry_id": ..., "score": ...}, ...]
    Column("asked_at", UtcDateTime(), nullable=False),
    # Made when the question is answered, before it is written, so the answer's message
    # metadata can name it; NULL for questions stored before migration 0007.
    Column("uid", UID, nullable=True),
    Index(None, "team_id", "asked_at"),
    Index(None, "asked_at"),
    Index(None, "uid"),
)

recommendations = Table(
    "recommendations",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("team_id", ID, nullable=False),
    Column("user_id", ID, nullable=True),
    Column("framework_id", ID, nullable=False),
    Column("verdict", StorableString(16), nullable=False),
    Column("recommended_at", UtcDateTime(), nullable=False),
    # Made when the recommendation is given, before it is written, so the result's message
    # metadata can name it; NULL for recommendations stored before migration 0008.
    Column("uid", UID, nullable=True),
    Index(None, "team_id", "recommended_at"),
    Index(None, "uid"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("team_id", ID, nullable=False),
    Column("user_id", ID, nullable=False),
    Column("message_key", KEY, nullable=False),
    Column("target_kind", StorableString(16), nullable=False),
    Column("target_id", ID, nullable=False),
    Column("question", StorableText(), nullable=True),  # NULL once older than the retention
    Column("helpful", Boolean, nullable=False),
    Column("voted_at", UtcDateTime(), nullable=False),
    # Why a 👎 (bot/store/reasons.py): counts while reason_for = voted_at; note purged with text.
    Column("reason", StorableString(32), nullable=True),
    Column("reason_note", StorableText(), nullable=True),
    Column("reason_for", UtcDateTime(), nullable=True),
    # The question (questions.uid) the rated answer was given to, when its message said.
    Column("question_uid", UID, nullable=True),
    # The recommendation (recommendations.uid) the rated result was, when its message said.
    Column("recommendation_uid", UID, nullable=True),
    UniqueConstraint("team_id", "message_key", "user_id"),
    Index(None, "team_id", "voted_at"),
    Index(None, "voted_at"),
)
"""One vote per person per message; a new vote replaces the old one."""

decisions = Table(
    "decisions",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("team_id", ID, nullable=False),
    Column("channel_id", ID, nullable=False),
    Column("thread_ts", KEY, nullable=True),  # the thread it was started in, if any
    Column("message_ts", KEY, nullable=True),  # the decision message, once posted
    Column("title", StorableText(), nullable=True),  # NULL once older than the retention
    Column("started_by", ID, nullable=False),
    Column("status", StorableString(16), nullable=False),  # "open" or "closed"
    Column("version", Integer, nullable=False),  # +1 with every change, for in-place updates
    Column("knowledge_version", StorableString(64), nullable=True),
    Column("framework_id", ID, nullable=True),  # the outcome, once closed
    Column("verdict", StorableString(16), nullable=True),
    Column("closed_by", ID, nullable=True),
    Column("record_where", StorableString(16), nullable=True),  # canvas, thread or nowhere
    Column("record_url", StorableText(), nullable=True),  # the canvas or message, when known
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("closed_at", UtcDateTime(), nullable=True),
    Index(None, "team_id", "created_at"),
    Index(None, "updated_at"),
)
"""A team decision (`/framework decide`), written at once in a transaction of its own (never
through the write-behind buffer), so every instance sees every answer and the close."""

decision_answers = Table(
    "decision_answers",
    metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("decision_id", BigInteger().with_variant(Integer(), "sqlite"), nullable=False),
    Column("team_id", ID, nullable=False),
    Column("user_id", ID, nullable=False),
    Column("user_name", StorableText(), nullable=True),  # NULL once older than the retention
    Column("answers", JSON, nullable=False),  # {question id: [option id, ...]}
    Column("answered_at", UtcDateTime(), nullable=False),
    UniqueConstraint("decision_id", "user_id"),
    Index(None, "team_id"),
)
"""One person's answers to one decision; answering again replaces them (the row keeps its id,
so people stay in the order they first answered)."""

TEAM_TABLES = (events, questions, recommendations, feedback, decision_answers, decisions)
"""Tables whose rows belong to one workspace (removed by `Store.delete_team`)."""

# The OAuth install's tables, exactly as slack_sdk's SQLAlchemy installation and state stores
# read and write them (built by slack_sdk's own table builders, created by migration 0003).
slack_installations = SQLAlchemyInstallationStore.build_installations_table(
    metadata, SQLAlchemyInstallationStore.default_installations_table_name
)
slack_bots = SQLAlchemyInstallationStore.build_bots_table(
    metadata, SQLAlchemyInstallationStore.default_bots_table_name
)
slack_oauth_states = SQLAlchemyOAuthStateStore.build_oauth_states_table(
    metadata, SQLAlchemyOAuthStateStore.default_table_name
)
OAUTH_TABLES = (slack_installations, slack_bots, slack_oauth_states)
