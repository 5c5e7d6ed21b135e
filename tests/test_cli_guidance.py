"""The command line guides whoever types it: help lists what can be typed, a near miss suggests
the right id, a usage error shows the usage of the subcommand it concerns, and reading an
empty store says why it is empty without creating a database."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import build_parser, main
from bot.knowledge import KnowledgeBase


@pytest.fixture(autouse=True)
def no_slack_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "KNOWLEDGE_DIR"):
        monkeypatch.delenv(name, raising=False)


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    return capsys.readouterr().err


def test_recommend_help_lists_every_question_and_option_id(kb: KnowledgeBase, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["recommend", "--help"])

    out = capsys.readouterr().out
    for question in kb.questionnaire.questions:
        assert f"  {question.id}: {question.prompt}" in out
        for option in question.options:
            assert f"      {option.id} - " in out


def test_a_misspelt_question_id_suggests_the_right_one(capsys) -> None:
    assert main(["recommend", "-a", "bulding=json-api"]) == 2

    err = capsys.readouterr().err
    assert "'bulding' is not a question (did you mean 'building'?)" in err
    assert err.startswith("usage: framework-bot recommend")


def test_a_misspelt_option_id_suggests_the_right_one(capsys) -> None:
    assert main(["recommend", "-a", "building=jsonapi"]) == 2

    assert "(did you mean 'json-api'?)" in capsys.readouterr().err


def test_extra_arguments_show_the_subcommands_usage(capsys) -> None:
    err = _usage_error(["companies", "flask", "django"], capsys)

    assert err.startswith("usage: framework-bot companies")
    assert "unrecognized arguments: django" in err


def test_kb_check_usage_errors_show_its_own_usage(capsys) -> None:
    err = _usage_error(["kb", "check", "a", "b"], capsys)

    assert err.startswith("usage: framework-bot kb check")


@pytest.mark.parametrize("question", ["", "   "])
def test_ask_with_an_empty_question_is_a_usage_error(question: str, capsys) -> None:
    err = _usage_error(["ask", question], capsys)

    assert err.startswith("usage: framework-bot ask")
    assert "the question is empty" in err


def test_stats_with_a_bad_period_shows_stats_usage(capsys) -> None:
    assert _usage_error(["stats", "--days", "0"], capsys).startswith("usage: framework-bot stats")


def _every_parser(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _every_parser(sub)


def test_every_option_and_argument_has_help_text(kb: KnowledgeBase) -> None:
    missing = [
        f"{parser.prog} {action.dest}"
        for parser in _every_parser(build_parser(kb))
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]

    assert missing == []


def test_stats_on_a_fresh_clone_says_why_and_creates_no_database(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))

    assert main(["stats"]) == 0

    out = capsys.readouterr().out
    assert "Nothing is stored yet" in out
    assert "the terminal session" in out and "not recorded" in out
    assert not (tmp_path / "data").exists()


def test_export_of_an_empty_store_keeps_stdout_clean_and_says_why_on_stderr(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))

    assert main(["export", "--what", "feedback"]) == 0

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Nothing is stored yet" in captured.err
    assert not (tmp_path / "data").exists()


@pytest.fixture
def one_recommendation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_copy: Callable[[Path], Path]
) -> None:
    """A store in DATA_DIR holding one recommendation of workspace T0ONE, and no question."""
    from bot.store import create_store

    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    store = create_store(None, migrated_copy(tmp_path / "data"))
    store.record_recommendation(
        team_id="T0ONE", user_id="U0ALICE", framework_id="flask", verdict="clear"
    )
    store.close()


@pytest.mark.usefixtures("one_recommendation")
def test_stats_for_an_unknown_workspace_says_so(capsys) -> None:
    assert main(["stats", "--team", "T123"]) == 0

    out = capsys.readouterr().out
    assert "Nothing is stored for workspace T123" in out
    assert "T0ONE" in out
    assert "0 (0 answered" not in out and "- answered" not in out


@pytest.mark.usefixtures("one_recommendation")
def test_a_workspace_without_questions_in_the_period_reads_cleanly(capsys) -> None:
    assert main(["stats", "--team", "T0ONE"]) == 0

    out = capsys.readouterr().out
    assert "Questions: none in this period" in out
    assert "- answered" not in out


@pytest.mark.usefixtures("one_recommendation")
def test_export_with_nothing_to_export_prints_the_header_and_says_why(capsys) -> None:
    assert main(["export", "--what", "feedback"]) == 0

    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 1  # the CSV header, for a pipe
    assert "No feedback records stored." in captured.err
    assert "not recorded" in captured.err
