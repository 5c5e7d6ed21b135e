"""Event claims, the shared knowledge stamp, questions, recommendations and feedback votes.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(64)
KEY = sa.String(255)
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("event_id", KEY, nullable=False),
        sa.Column("team_id", ID, nullable=True),
        sa.Column("claimed_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_events"),
    )
    op.create_index("ix_events_claimed_at", "events", ["claimed_at"])
    op.create_index("ix_events_team_id", "events", ["team_id"])

    op.create_table(
        "meta",
        sa.Column("key", ID, nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_meta"),
    )

    op.create_table(
        "questions",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("team_id", ID, nullable=False),
        sa.Column("channel_id", ID, nullable=True),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("entry_id", ID, nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("closest", sa.JSON(), nullable=False),
        sa.Column("asked_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_questions"),
    )
    op.create_index("ix_questions_team_id_asked_at", "questions", ["team_id", "asked_at"])
    op.create_index("ix_questions_asked_at", "questions", ["asked_at"])

    op.create_table(
        "recommendations",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("team_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("framework_id", ID, nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("recommended_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recommendations"),
    )
    op.create_index(
        "ix_recommendations_team_id_recommended_at",
        "recommendations",
        ["team_id", "recommended_at"],
    )

    op.create_table(
        "feedback",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("team_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("message_key", KEY, nullable=False),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("target_id", ID, nullable=False),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("voted_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        sa.UniqueConstraint(
            "team_id", "message_key", "user_id", name="uq_feedback_team_id_message_key_user_id"
        ),
    )
    op.create_index("ix_feedback_team_id_voted_at", "feedback", ["team_id", "voted_at"])
    op.create_index("ix_feedback_voted_at", "feedback", ["voted_at"])


def downgrade() -> None:
    for table in ("feedback", "recommendations", "questions", "meta", "events"):
        op.drop_table(table)
