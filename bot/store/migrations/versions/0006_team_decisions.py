"""Team decisions (`/framework decide`): `decisions` and each person's `decision_answers`.

Frozen: the tables are written out here as they were when this revision was made, so that a
later change to bot/store/schema.py cannot change what this revision creates.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.String(64)
_KEY = sa.String(255)
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("team_id", _ID, nullable=False),
        sa.Column("channel_id", _ID, nullable=False),
        sa.Column("thread_ts", _KEY, nullable=True),
        sa.Column("message_ts", _KEY, nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("started_by", _ID, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("knowledge_version", sa.String(64), nullable=True),
        sa.Column("framework_id", _ID, nullable=True),
        sa.Column("verdict", sa.String(16), nullable=True),
        sa.Column("closed_by", _ID, nullable=True),
        sa.Column("record_where", sa.String(16), nullable=True),
        sa.Column("record_url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_team_id_created_at", "decisions", ["team_id", "created_at"])
    op.create_index("ix_decisions_updated_at", "decisions", ["updated_at"])
    op.create_table(
        "decision_answers",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("decision_id", _SERIAL, nullable=False),
        sa.Column("team_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("user_name", sa.Text(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_decision_answers"),
        sa.UniqueConstraint(
            "decision_id", "user_id", name="uq_decision_answers_decision_id_user_id"
        ),
    )
    op.create_index("ix_decision_answers_team_id", "decision_answers", ["team_id"])


def downgrade() -> None:
    op.drop_index("ix_decision_answers_team_id", table_name="decision_answers")
    op.drop_table("decision_answers")
    op.drop_index("ix_decisions_updated_at", table_name="decisions")
    op.drop_index("ix_decisions_team_id_created_at", table_name="decisions")
    op.drop_table("decisions")
