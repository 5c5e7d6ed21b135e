"""Each question gets an id made when it is answered, before it is written: the answer's
message metadata carries it, and a vote on that answer is stored with it.

`questions.uid` is that id (a hex UUID; NULL for questions stored before this revision), and
`feedback.question_uid` the question a vote was given on (NULL when the message said none: an
older message, a recommendation, an ephemeral reply).

Frozen: the columns are written out here as they were when this revision was made.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_UID = sa.String(32)


def upgrade() -> None:
    with op.batch_alter_table("questions") as table:
        table.add_column(sa.Column("uid", _UID, nullable=True))
    op.create_index("ix_questions_uid", "questions", ["uid"])
    with op.batch_alter_table("feedback") as table:
        table.add_column(sa.Column("question_uid", _UID, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feedback") as table:
        table.drop_column("question_uid")
    op.drop_index("ix_questions_uid", table_name="questions")
    with op.batch_alter_table("questions") as table:
        table.drop_column("uid")
