"""Group unanswered questions by their folded text: add `questions.normalized` and fill it in
for the questions already stored.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.text import normalize_question

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    op.add_column("questions", sa.Column("normalized", sa.Text(), nullable=True))
    questions = sa.table(
        "questions",
        sa.column("id", sa.BigInteger()),
        sa.column("text", sa.Text()),
        sa.column("normalized", sa.Text()),
    )
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(questions.c.id, questions.c.text)
            .where(questions.c.id > last_id, questions.c.text.is_not(None))
            .order_by(questions.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            sa.update(questions)
            .where(questions.c.id == sa.bindparam("row_id"))
            .values(normalized=sa.bindparam("folded")),
            [{"row_id": row.id, "folded": normalize_question(row.text)} for row in rows],
        )
        last_id = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("questions") as batch:
        batch.drop_column("normalized")
