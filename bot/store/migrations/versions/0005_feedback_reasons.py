"""A 👎 vote can carry its reason: what was wrong (a code) and the person's own words.

`reason_for` is the time of the vote the reason was given for: the reason counts only while
that vote stands (`reason_for = voted_at`), so a later vote by the same person on the same
message retires it without anyone having to clear it.

Frozen: the columns are written out here as they were when this revision was made.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feedback") as table:
        table.add_column(sa.Column("reason", sa.String(32), nullable=True))
        table.add_column(sa.Column("reason_note", sa.Text(), nullable=True))
        table.add_column(sa.Column("reason_for", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feedback") as table:
        table.drop_column("reason_for")
        table.drop_column("reason_note")
        table.drop_column("reason")
