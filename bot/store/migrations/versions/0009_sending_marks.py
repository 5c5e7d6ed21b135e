"""The durable inbox marks a delivery `sending` before its reply is posted, so that after a
crash a delivery whose reply may have reached Slack is looked for there before it is answered
again (bot/slack/platform/reply_check.py).

`events.reply_uid` is the id the reply carries in its metadata (`question_id`), written and
committed just before the reply is posted; NULL for a delivery whose reply was never on its
way (and for every row made before this revision).

Frozen: the columns are written out here as they were when this revision was made.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as table:
        table.add_column(sa.Column("reply_uid", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as table:
        table.drop_column("reply_uid")
