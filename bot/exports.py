"""What the store can export, and in which formats: its own module, free of SQLAlchemy, so the
command line can offer the choices without loading the store (`framework-bot ask` never needs
it)."""

from __future__ import annotations

from typing import Literal

ExportKind = Literal["feedback", "unanswered"]
EXPORT_KINDS: tuple[ExportKind, ...] = ("feedback", "unanswered")
EXPORT_FORMATS = ("csv",)
