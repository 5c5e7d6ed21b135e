"""`kb check` reports the cause, not the cascade: an entry that fails validation is still known
by its id to the entries that refer to it, and every error names the item's id as well as its
index."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.knowledge import DEFAULT_KNOWLEDGE_DIR, KnowledgeError, load_knowledge


@pytest.fixture
def shipped_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, folder)
    return folder


def _break(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _problems(folder: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as raised:
        load_knowledge(folder)
    return [str(problem) for problem in raised.value.problems]


def test_one_misspelt_key_is_one_error_naming_the_entry_and_the_right_spelling(
    shipped_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _break(shipped_copy, "entries-basics.yaml", "    sources:", "    source:")
    first_id = load_knowledge().entries[0].id

    assert main(["kb", "check", str(shipped_copy)]) == 1

    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, errors
    assert "entries[0].source: is not a known field (did you mean 'sources'?)" in errors[0]
    assert f"(in entry {first_id!r})" in errors[0]


def test_entries_referring_to_a_broken_entry_in_another_file_are_not_reported(
    shipped_copy: Path,
) -> None:
    _break(shipped_copy, "entries-basics.yaml", "    answer:", "    answr:")

    problems = _problems(shipped_copy)

    assert not [p for p in problems if "unknown related entry" in p], problems
    assert len(problems) == 1, problems


def test_a_reference_error_found_after_merging_names_the_entry_id(shipped_copy: Path) -> None:
    entry = load_knowledge().entries[0]
    _break(shipped_copy, "entries-basics.yaml", f"[{entry.sources[0]}", "[no-such-source")

    problems = _problems(shipped_copy)

    assert len(problems) == 1, problems
    assert "unknown source 'no-such-source'" in problems[0]
    assert f"(in entry {entry.id!r})" in problems[0]
    assert "entries[0].sources[0]" in problems[0]


def test_a_broken_questionnaire_is_not_also_reported_as_missing(shipped_copy: Path) -> None:
    _break(shipped_copy, "questionnaire.yaml", "      prompt:", "      promt:")

    problems = _problems(shipped_copy)

    assert len(problems) == 1, problems
    assert "did you mean 'prompt'?" in problems[0]
    assert "(in question " in problems[0]


def test_a_count_whose_range_is_empty_names_its_option_and_line(shipped_copy: Path) -> None:
    _break(
        shipped_copy,
        "questionnaire.yaml",
        "{of: [week, weeks], at_least: 2, at_most: 8}",
        "{of: [week, weeks], at_least: 8, at_most: 2}",
    )

    problems = _problems(shipped_copy)

    assert len(problems) == 1, problems
    assert "at_most (2) is below at_least (8)" in problems[0]
    assert "(in question 'timeline', option 'weeks')" in problems[0]
    line = int(problems[0].split("questionnaire.yaml:")[1].split(":")[0])
    wrong = (shipped_copy / "questionnaire.yaml").read_text(encoding="utf-8").splitlines()[line - 1]
    assert "at_least: 8, at_most: 2" in wrong
