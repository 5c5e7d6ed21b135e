"""Folding question texts so that the same unanswered question, asked in different ways of
writing, is counted together."""

from __future__ import annotations

import re

from bot.matching import clean_text

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""NUL (PostgreSQL refuses it in text) and lone surrogates (no database or JSON encoder takes
them; a JSON escape such as "\\ud800" in a Slack payload decodes to one)."""


def storable(text: str) -> str:
    """`text` without the code points a database refuses."""
    return _UNSTORABLE.sub("", text)


_APOSTROPHES = re.compile(r"['\u2019]")
_NOT_WORD = re.compile(r"[\W_]+")


def normalize_question(text: str) -> str:
    """Slack markup removed, case folded, punctuation dropped, spaces collapsed:
    "<@U1> What's  Flask?!" -> "whats flask"."""
    folded = _APOSTROPHES.sub("", clean_text(text).casefold())
    return _NOT_WORD.sub(" ", folded).strip()
