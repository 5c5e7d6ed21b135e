"""The OAuth install's tables (slack_installations, slack_bots, slack_oauth_states), shared by
every instance on the database.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

from bot.store.schema import OAUTH_TABLES

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    for table in OAUTH_TABLES:
        table.create(connection, checkfirst=True)


def downgrade() -> None:
    connection = op.get_bind()
    for table in reversed(OAUTH_TABLES):
        table.drop(connection, checkfirst=True)
