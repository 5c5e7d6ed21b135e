"""`framework-bot decision list|show|export`: team decisions from the store in the terminal,
with the same MADR record the Slack app writes, and errors that say what to do."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.knowledge import KnowledgeBase
from bot.store import create_store
from bot.store.decisions import DecisionStore
from tests.support.slack_test_helpers import best_answers

TITLE = "Framework for the billing service"


@pytest.fixture
def stored(
    kb: KnowledgeBase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    migrated_copy: Callable[[Path], Path],
) -> Iterator[dict[str, int]]:
    """Two decisions in DATA_DIR's store: #1 closed with two people's answers, #2 open."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    store = create_store(None, migrated_copy(tmp_path / "data"))
    decisions = DecisionStore(store.engine)
    closed = decisions.start(
        team_id="T0FAKE", channel_id="C0GENERAL", thread_ts=None, title=TITLE,
        started_by="U0ALICE", knowledge_version="abc123",
    )  # fmt: skip
    django = best_answers(kb, "django")
    for user, name, answers in [
        ("U0ALICE", "alice", django),
        ("U0BOB", "bob", {**django, "scale": ["small"]}),
    ]:
        decisions.record_answers(
            team_id="T0FAKE", decision_id=closed.id, user_id=user, user_name=name,
            answers=answers,
        )  # fmt: skip
    decisions.close(
        team_id="T0FAKE", decision_id=closed.id, closed_by="U0ALICE", framework_id="django",
        verdict="clear",
    )  # fmt: skip
    waiting = decisions.start(
        team_id="T0FAKE", channel_id="C0GENERAL", thread_ts=None, title="Admin tool",
        started_by="U0BOB", knowledge_version="abc123",
    )  # fmt: skip
    store.close()
    yield {"closed": closed.id, "open": waiting.id}


def test_list_shows_each_decision_newest_first_with_its_outcome(
    stored: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["decision", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"#{stored['open']}  open") and "no answers yet" in lines[0]
    assert lines[1].startswith(f"#{stored['closed']}  closed") and TITLE in lines[1]
    assert "2 answered; decided: Django (clear choice)" in lines[1]
    assert lines[-1] == "2 decisions: 1 open, 1 closed"


def test_export_writes_the_madr_record_with_names_not_slack_ids(
    stored: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["decision", "export", str(stored["closed"]), "--format", "md"]) == 0
    record = capsys.readouterr().out
    assert record.startswith("---\nstatus: accepted\n")
    assert "decision-makers: alice, bob\n" in record
    assert f"# {TITLE}\n" in record
    for section in (
        "## Context and Problem Statement",
        "## Decision Drivers",
        "## Considered Options",
        "## Decision Outcome",
        "### Consequences",
        "### Confirmation",
        "## More Information",
    ):
        assert f"\n{section}\n" in record
    assert 'Chosen option: "Django", because' in record
    assert "U0ALICE" not in record
    assert "Knowledge version: abc123" in record


def test_export_into_a_folder_names_the_file_like_docs_decisions(
    stored: dict[str, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "docs" / "decisions"
    folder.mkdir(parents=True)
    assert main(["decision", "export", str(stored["closed"]), "--output", str(folder)]) == 0
    written = folder / f"{stored['closed']:04d}-framework-for-the-billing-service.md"
    assert written.read_text(encoding="utf-8").startswith("---\nstatus: accepted")
    assert f"Wrote {written}" in capsys.readouterr().err


def test_show_gives_the_summary_and_the_record_proposed_while_open(
    kb: KnowledgeBase, stored: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["decision", "show", f"#{stored['closed']}"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Decision #{stored['closed']}: {TITLE}\n")
    assert "answered: alice, bob" in out and "status: closed" in out
    assert kb.questionnaire.question("scale").prompt in out

    assert main(["decision", "show", str(stored["open"])]) == 0
    assert "answered: nobody yet" in capsys.readouterr().out


def test_an_open_decision_exports_as_proposed_once_someone_answered(
    kb: KnowledgeBase, stored: dict[str, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = create_store(None, tmp_path / "data")
    DecisionStore(store.engine).record_answers(
        team_id="T0FAKE", decision_id=stored["open"], user_id="U0BOB", user_name="bob",
        answers=best_answers(kb, "flask"),
    )  # fmt: skip
    store.close()
    assert main(["decision", "export", str(stored["open"])]) == 0
    assert capsys.readouterr().out.startswith("---\nstatus: proposed\n")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["decision", "show", "abc"], "'abc' is not a decision number"),
        (["decision", "export", "0"], "'0' is not a decision number"),
    ],
)
def test_an_id_that_is_not_a_number_says_where_to_find_one(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert says in err and "`framework-bot decision list` shows them" in err


def test_an_unknown_id_says_what_to_do(
    stored: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["decision", "show", "99"]) == 1
    err = capsys.readouterr().err
    assert "there is no decision #99" in err and "`framework-bot decision list`" in err


def test_exporting_a_decision_nobody_answered_says_so(
    stored: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["decision", "export", str(stored["open"])]) == 1
    assert "nobody has answered" in capsys.readouterr().err


def test_with_nothing_stored_list_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "empty"))
    assert main(["decision", "list"]) == 0
    assert "Nothing is stored yet" in capsys.readouterr().out
