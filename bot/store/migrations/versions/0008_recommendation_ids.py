"""Each recommendation gets an id made when it is given, before it is written: the result's
message metadata carries it (as 0007 did for questions), so an export or an audit can join a
posted result to its record, and a vote on that result is stored with it.

`recommendations.uid` is that id (a hex UUID; NULL for recommendations stored before this
revision), and `feedback.recommendation_uid` the recommendation a vote was given on (NULL when
the message said none: an older message, an answer, a shared copy made before this revision).

Frozen: the columns are written out here as they were when this revision was made.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_UID = sa.String(32)


def upgrade() -> None:
    with op.batch_alter_table("recommendations") as table:
        table.add_column(sa.Column("uid", _UID, nullable=True))
    op.create_index("ix_recommendations_uid", "recommendations", ["uid"])
    with op.batch_alter_table("feedback") as table:
        table.add_column(sa.Column("recommendation_uid", _UID, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feedback") as table:
        table.drop_column("recommendation_uid")
    op.drop_index("ix_recommendations_uid", table_name="recommendations")
    with op.batch_alter_table("recommendations") as table:
        table.drop_column("uid")
