"""Fixtures shared by the whole suite."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, load_knowledge


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The shipped knowledge base, loaded once."""
    return load_knowledge()


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Callable[..., Path]:
    """Write YAML files into a fresh knowledge folder: knowledge_dir(name=text, ...)."""

    def write(**files: str) -> Path:
        folder = tmp_path / "knowledge"
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            (folder / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
        return folder

    return write
