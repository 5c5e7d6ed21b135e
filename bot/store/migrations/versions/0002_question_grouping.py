"""Group unanswered questions by their folded text: add `questions.normalized` and fill it in
for the questions already stored.

Frozen: the folding is written out here as it was when this revision was made (the matcher's
Slack-markup cleaning, then bot/store/folding.py), so that a later change to either
cannot change what this revision writes. The store folds new questions with today's code.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import html
import re

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH = 1000

_MENTION = re.compile(r"<[@#][A-Z0-9]+(?:\|[^>]*)?>")
_SPECIAL = re.compile(r"<![^>]*>")
_LABELLED_LINK = re.compile(r"<[^<>|\s]+\|([^>]*)>")
_BARE_LINK = re.compile(r"<[^<>\s]+>")
_EMOJI = re.compile(r"(?<![\w:]):[a-z0-9_+'-]+:(?!\w)")
_SPACES = re.compile(r"\s+")
_APOSTROPHES = re.compile(r"['\u2019]")
_NOT_WORD = re.compile(r"[\W_]+")


def _clean_text(text: str) -> str:
    """Slack markup removed (mentions, <!here>, emoji, bare links; a link keeps its label),
    entities unescaped, whitespace collapsed."""
    text = _MENTION.sub(" ", text)
    text = _SPECIAL.sub(" ", text)
    text = _LABELLED_LINK.sub(r" \1 ", text)
    text = _BARE_LINK.sub(" ", text)
    previous = None
    while previous != text:  # ":wave::skin-tone-2:" needs a second pass
        previous, text = text, _EMOJI.sub(" ", text)
    text = html.unescape(text)
    return _SPACES.sub(" ", text).strip()


def normalize_question(text: str) -> str:
    """ "<@U1> What's  Flask?!" -> "whats flask"."""
    folded = _APOSTROPHES.sub("", _clean_text(text).casefold())
    return _NOT_WORD.sub(" ", folded).strip()


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
