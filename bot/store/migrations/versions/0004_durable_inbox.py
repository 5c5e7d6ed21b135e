"""The durable inbox: an event claim can carry the delivery itself, until it is answered.

Adds to `events` the request body of a mention or DM claimed before its acknowledgement, the
lease of the instance answering it and when it was done, so that a delivery acknowledged by a
process that died before answering is found and answered by another. Claims made before this
revision were answered (or refused) already: they are marked done when they were claimed.

Frozen: the columns are written out here as they were when this revision was made.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("events") as table:
        table.add_column(sa.Column("body", sa.Text(), nullable=True))
        table.add_column(sa.Column("lease_until", TIME, nullable=True))
        table.add_column(sa.Column("done_at", TIME, nullable=True))
        table.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    op.create_index("ix_events_done_at_lease_until", "events", ["done_at", "lease_until"])
    events = sa.table("events", sa.column("claimed_at", TIME), sa.column("done_at", TIME))
    op.execute(events.update().values(done_at=events.c.claimed_at))


def downgrade() -> None:
    op.drop_index("ix_events_done_at_lease_until", table_name="events")
    with op.batch_alter_table("events") as table:
        table.drop_column("attempts")
        table.drop_column("done_at")
        table.drop_column("lease_until")
        table.drop_column("body")
