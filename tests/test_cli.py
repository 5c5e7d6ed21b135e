"""The `framework-bot` command line: one-shot answers, the questionnaire, the terminal session
and `kb check`, run the way a person runs them."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main, parse_answer_args
from bot.knowledge import KnowledgeBase
from bot.render.text import mrkdwn_to_text

RAW_MRKDWN = re.compile(r"<https?://|\*\w[^*\n]*\*|(?<!\w)_\w[^_\n]*_(?!\w)")


@pytest.fixture(autouse=True)
def no_slack_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "KNOWLEDGE_DIR"):
        monkeypatch.delenv(name, raising=False)


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def answers_favouring(kb: KnowledgeBase, framework_id: str) -> list[str]:
    """For each question, the option that most favours `framework_id` over the others."""

    def lead(option) -> float:
        other = max((w for f, w in option.weights.items() if f != framework_id), default=0)
        return option.weights.get(framework_id, 0) - other

    return [f"{q.id}={max(q.options, key=lead).id}" for q in kb.questionnaire.questions]


@pytest.mark.parametrize(
    ("mrkdwn", "text"),
    [
        ("See <https://example.com/a|the docs>.", "See the docs (https://example.com/a)."),
        ("Bare <https://example.com/b> link", "Bare https://example.com/b link"),
        ("*Django* ships an _admin_ and ~old~ stuff", "Django ships an admin and old stuff"),
        ("Use `snake_case_names` and 2 * 3 * 4", "Use `snake_case_names` and 2 * 3 * 4"),
        ("Fish &amp; chips &lt;3", "Fish & chips <3"),
    ],
)
def test_mrkdwn_becomes_plain_text(mrkdwn: str, text: str) -> None:
    assert mrkdwn_to_text(mrkdwn) == text


def test_ask_prints_a_plain_text_answer_with_its_sources(kb: KnowledgeBase, capsys) -> None:
    assert main(["ask", "does", "django", "come", "with", "an", "admin", "panel?"]) == 0

    out = capsys.readouterr().out
    entry = kb.entry("admin-interface")
    assert out.startswith(entry.title)
    assert "Sources:" in out
    for source in kb.sources_for(entry.sources):
        # Wrapped at 80 columns, but never inside a URL.
        assert f"{source.title} ({source.url})" in " ".join(out.split())
        assert source.url in out
    assert not RAW_MRKDWN.search(out), out


@pytest.mark.parametrize(
    "question", ["what's the weather in Paris tomorrow?", "tell me a joke about cats"]
)
def test_ask_says_when_it_is_not_sure(question: str, capsys) -> None:
    assert main(["ask", question]) == 0

    out = capsys.readouterr().out
    assert out.startswith("I'm not sure")
    assert "Sources:" not in out


@pytest.mark.parametrize("framework_id", ["django", "flask"])
def test_recommend_with_every_answer_given(kb: KnowledgeBase, framework_id: str, capsys) -> None:
    args = [arg for answer in answers_favouring(kb, framework_id) for arg in ("--answer", answer)]

    assert main(["recommend", *args]) == 0

    out = capsys.readouterr().out
    winner = kb.framework(framework_id)
    assert out.startswith(f"Recommendation: {winner.name}")
    assert "a clear choice" in out
    assert f"Teams that chose {winner.name}:" in out
    assert not RAW_MRKDWN.search(out), out
    table = out.split("Points per answer:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    names = [framework.name for framework in kb.frameworks]
    assert table[0].split() == ["Question", "Your", "answer", *names]
    assert len(table) == 1 + len(kb.questionnaire.questions)
    assert (
        out.index("What would change it")
        < out.index("Points per answer")
        < out.index("Teams that chose")
    )


@pytest.mark.slow
def test_recommend_without_a_terminal_names_the_missing_answers(kb: KnowledgeBase) -> None:
    first, *rest = kb.questionnaire.questions
    given = f"{first.id}={first.options[0].id}"

    result = run_cli("recommend", "--answer", given)

    assert result.returncode == 2
    for question in rest:
        assert question.id in result.stderr
        for option in question.options:
            assert option.id in result.stderr
    assert first.prompt not in result.stderr


@pytest.mark.parametrize(
    ("answer", "message"),
    [("no-equals-sign", "is not QUESTION=OPTION"), ("=x", "is not QUESTION=OPTION")],
)
def test_recommend_rejects_malformed_answers(answer: str, message: str, capsys) -> None:
    assert main(["recommend", "--answer", answer]) == 2
    assert message in capsys.readouterr().err


def test_recommend_rejects_an_unknown_option_listing_the_valid_ones(kb: KnowledgeBase, capsys):
    question = kb.questionnaire.questions[0]
    answers = [a for a in answers_favouring(kb, "django") if not a.startswith(f"{question.id}=")]
    args = [arg for a in [*answers, f"{question.id}=nonsense"] for arg in ("--answer", a)]

    assert main(["recommend", *args]) == 2

    err = capsys.readouterr().err
    assert "nonsense" in err
    assert all(option.id in err for option in question.options)


def test_parse_answer_args_gathers_repeated_and_comma_separated_options() -> None:
    assert parse_answer_args(["size=large", "features=auth,forms", "features= i18n"]) == {
        "size": ["large"],
        "features": ["auth", "forms", "i18n"],
    }


@pytest.mark.slow
def test_recommend_prompts_on_a_terminal(kb: KnowledgeBase) -> None:
    """Run on a real pseudo-terminal, answer every prompt (one wrong answer first)."""
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "recommend"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    replies = ["99"] + ["1"] * len(kb.questionnaire.questions)
    output = b""
    try:
        while process.poll() is None or output.count(b"\n") == 0:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
            if chunk.rstrip().endswith(b":") and replies:
                os.write(leader, replies.pop(0).encode() + b"\n")
    finally:
        process.wait(timeout=30)
        os.close(leader)

    text = output.decode()
    assert process.returncode == 0, text
    assert "'99' is not one of the options: please type a number from 1 to" in text
    assert all(q.prompt in text for q in kb.questionnaire.questions)
    assert "Recommendation: " in text


@pytest.mark.slow
def test_session_answers_questions_and_runs_the_questionnaire(kb: KnowledgeBase) -> None:
    picks = "\n".join("1" for _ in kb.questionnaire.questions)
    script = f"help\nwhat is flask exactly?\nrecommend\n{picks}\ncompanies\nquit\n"

    result = run_cli(stdin=script)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Framework Advisor, in the terminal" in out
    assert "recommend   answer a few questions" in out
    assert kb.entry("what-is-flask").title in out
    assert "Recommendation: " in out
    assert all(company.name in out for company in kb.companies)


@pytest.mark.slow
@pytest.mark.parametrize("script", ["", "what is django\n"], ids=["empty", "no-quit"])
def test_session_ends_cleanly_at_end_of_input(script: str) -> None:
    result = run_cli("chat", stdin=script)

    assert result.returncode == 0
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_session_stops_cleanly_when_input_ends_mid_questionnaire() -> None:
    result = run_cli(stdin="recommend\n1\n")

    assert result.returncode == 0
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("framework", [None, "flask", "Django"])
def test_companies_lists_each_with_its_source(kb: KnowledgeBase, framework, capsys) -> None:
    assert main(["companies", *([framework] if framework else [])]) == 0

    out = capsys.readouterr().out
    shown = [c for c in kb.companies if framework is None or c.framework == framework.lower()]
    for company in shown:
        assert company.name in out
        assert kb.source(company.sources[0]).url in out


def test_companies_of_an_unknown_framework(capsys) -> None:
    assert main(["companies", "rails"]) == 2
    assert "choose one of" in capsys.readouterr().err


def test_kb_check_on_the_shipped_knowledge(kb: KnowledgeBase, capsys) -> None:
    assert main(["kb", "check"]) == 0

    out = capsys.readouterr().out
    assert f"{len(kb.entries)} entries" in out
    assert f"{len(kb.companies)} companies" in out


@pytest.mark.slow
def test_kb_check_names_file_line_and_field_and_exits_1(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "sources.yaml").write_text(
        "sources:\n  - id: docs\n    title: Docs\n    link: https://example.com\n"
    )

    result = run_cli("kb", "check", str(folder))

    assert result.returncode == 1
    assert f"{folder / 'sources.yaml'}:4: sources[0].link: is not a known field" in result.stderr
    assert f"{folder / 'sources.yaml'}:2: sources[0].url: is required" in result.stderr


@pytest.mark.slow
def test_kb_check_warns_about_colliding_phrasings(tmp_path: Path) -> None:
    folder = copy_of_shipped_knowledge(tmp_path)
    (folder / "zz_collision.yaml").write_text(
        "entries:\n"
        "  - id: admin-again\n"
        "    title: Admin again\n"
        "    phrasings:\n"
        "      - does django have an admin interface\n"
        "      - is there an admin panel in django\n"
        "      - django admin site\n"
        "      - built in admin for django\n"
        "    answer: A copy.\n"
        f"    sources: [{shipped_source_id()}]\n"
    )

    result = run_cli("kb", "check", str(folder))

    assert result.returncode == 0, result.stderr
    assert "warning: " in result.stdout
    assert "'admin-again'" in result.stdout


def test_kb_check_warns_about_answers_whose_review_is_older_than_review_after_days(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = copy_of_shipped_knowledge(tmp_path)
    entry = (
        "  - id: {id}\n    title: T {id}\n    phrasings:\n"
        "      - what about {id} one\n      - tell me {id} two\n"
        "      - explain {id} three\n      - describe {id} four\n"
        "    answer: An answer.\n    sources: [{source}]\n    owner: U0CURATOR\n"
        "    reviewed: {reviewed}\n"
    )
    source = shipped_source_id()
    (folder / "zz_reviews.yaml").write_text(
        "entries:\n"
        + entry.format(id="zzstale", source=source, reviewed="2020-01-01")
        + entry.format(id="zzfresh", source=source, reviewed=datetime.now(UTC).date())
    )
    monkeypatch.setenv("REVIEW_AFTER_DAYS", "30")

    assert main(["kb", "check", str(folder)]) == 0

    out = capsys.readouterr().out
    assert "warning: 'zzstale' was last reviewed on 2020-01-01 (owner U0CURATOR)" in out
    assert "more than 30 days ago (REVIEW_AFTER_DAYS)" in out
    assert "'zzfresh'" not in out


def test_an_owner_that_is_not_a_slack_id_is_a_knowledge_error(tmp_path: Path) -> None:
    from bot.knowledge import Entry

    with pytest.raises(ValueError, match="owner"):
        Entry.model_validate(
            {
                "id": "x",
                "title": "X",
                "phrasings": ["a", "b", "c", "d"],
                "answer": "A.",
                "sources": ["s"],
                "owner": "alice@example.com",
            }
        )


def shipped_source_id() -> str:
    from bot.knowledge import load_knowledge

    return load_knowledge().sources[0].id


@pytest.mark.parametrize(
    "command",
    [
        *([], ["serve"], ["chat"], ["ask"], ["recommend"], ["companies"]),
        *(["stats"], ["export"], ["kb"], ["kb", "check"]),
    ],
    ids=lambda c: " ".join(c) or "framework-bot",
)
def test_every_command_has_help(command: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])

    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: framework-bot {' '.join(command)}".strip())


@pytest.mark.slow
def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("framework-bot")
    result = subprocess.run(
        [str(script), "ask", "what is flask"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Sources:" in result.stdout


@pytest.fixture
def stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_copy: Callable[[Path], Path]):
    """An SQLite store in DATA_DIR holding a little history of two workspaces."""
    from bot.store import create_store

    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    store = create_store(None, migrated_copy(tmp_path / "data"))
    common = {"channel_id": "C0GENERAL", "user_id": "U0ALICE"}
    store.record_question(
        team_id="T0ONE",
        text="does django have an admin",
        entry_id="admin-interface",
        score=88.0,
        **common,
    )
    for _ in range(2):
        store.record_question(
            team_id="T0ONE",
            text="Is Rails better?",
            entry_id=None,
            score=31.0,
            closest=[("other-python-frameworks", 31.0)],
            **common,
        )
    store.record_question(
        team_id="T0TWO", text="other workspace secret", entry_id=None, score=10.0, **common
    )
    store.record_vote(
        team_id="T0ONE",
        user_id="U0ALICE",
        message_key="C0GENERAL:1.0",
        target_kind="entry",
        target_id="admin-interface",
        question="does django have an admin",
        helpful=True,
    )
    store.record_recommendation(
        team_id="T0ONE", user_id="U0ALICE", framework_id="flask", verdict="close"
    )
    store.close()


def test_stats_shows_each_workspace_separately(kb: KnowledgeBase, stored, capsys) -> None:
    assert main(["stats", "--team", "T0ONE", "--days", "7"]) == 0

    out = capsys.readouterr().out
    assert "Workspace T0ONE" in out
    assert "Questions: 3 (1 answered, 2 not sure" in out
    assert kb.entry("admin-interface").title in out
    assert "100%" in out
    assert "is rails better" in out.lower()
    assert "Recommendations: 1 (Flask 1; close 1)" in out
    assert "other workspace secret" not in out


def test_stats_without_a_team_lists_every_workspace(stored, capsys) -> None:
    assert main(["stats"]) == 0

    out = capsys.readouterr().out
    assert "Workspace T0ONE" in out
    assert "Workspace T0TWO" in out


@pytest.mark.parametrize(
    ("what", "present", "absent"),
    [
        ("feedback", ["admin-interface", "does django have an admin"], ["Is Rails better?"]),
        ("unanswered", ["Is Rails better?", "other-python-frameworks"], ["admin-interface,"]),
    ],
)
def test_export_prints_csv(stored, capsys, what: str, present: list, absent: list) -> None:
    assert main(["export", "--what", what, "--format", "csv", "--team", "T0ONE"]) == 0

    out = capsys.readouterr().out
    header, *rows = out.strip().splitlines()
    assert "," in header
    assert rows
    assert all(text in out for text in present)
    assert not any(text in out for text in absent)
    assert "other workspace secret" not in out


def test_stats_on_an_empty_store(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.delenv("DATABASE_URL", raising=False)

    assert main(["stats"]) == 0
    out = capsys.readouterr().out
    assert "Nothing is stored yet" in out
    assert "the terminal session and one-shot commands" in out
    assert not (tmp_path / "empty").exists()


@pytest.mark.slow
def test_kb_check_is_clean_on_the_shipped_knowledge() -> None:
    result = run_cli("kb", "check")

    assert result.returncode == 0
    assert "warning" not in result.stdout


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path, monkeypatch) -> None:
    """`framework-bot companies | head -1`: the reader goes away mid-output."""

    class ClosedPipe:
        def __init__(self) -> None:
            self.sink = (tmp_path / "sink").open("w")

        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self) -> int:
            return self.sink.fileno()

    monkeypatch.setattr(sys, "stdout", ClosedPipe())

    assert main(["companies"]) == 1


@pytest.mark.slow
def test_ask_reads_a_project_description_and_says_how_to_finish() -> None:
    result = run_cli(
        "ask", "we are building a staff portal with sign-in and data entry screens, which one?"
    )
    assert result.returncode == 0, result.stderr
    assert "Leaning Django" in result.stdout
    assert "What I couldn't tell:" in result.stdout
    assert "framework-bot recommend --from-text" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("message", "reply"),
    [("hi", "I help teams choose"), ("what can you do?", "describe your project")],
)
def test_ask_answers_small_talk_with_cli_commands(message: str, reply: str) -> None:
    result = run_cli("ask", message)
    assert reply in result.stdout
    assert "framework-bot recommend" in result.stdout
    assert "/framework" not in result.stdout


@pytest.mark.slow
def test_recommend_from_text_chooses_the_answers_it_reads(kb: KnowledgeBase) -> None:
    read = {"building", "admin", "features"}
    others = [q for q in kb.questionnaire.questions if q.id not in read]
    given = [arg for q in others for arg in ("-a", f"{q.id}={q.options[0].id}")]
    result = run_cli(
        "recommend",
        "--from-text",
        "a staff portal with sign-in and data entry screens",
        *given,
    )
    assert result.returncode == 0, result.stderr
    assert "From your description: What are you building?" in result.stderr
    assert "Recommendation" in result.stdout or "Django" in result.stdout


@pytest.mark.slow
def test_recommend_from_text_without_answers_names_what_is_missing(kb: KnowledgeBase) -> None:
    result = run_cli("recommend", "--from-text", "a staff portal with sign-in")
    assert result.returncode == 2
    assert "From your description" in result.stderr
    assert "'building'" not in result.stderr.split("From your description")[-1].split("\n", 1)[1]


def test_kb_check_warns_about_a_framework_name_misspelled_in_a_phrasing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo written into a phrasing becomes a known word, which the matcher no longer
    corrects: "what is djnago" would stop meaning Django."""
    folder = copy_of_shipped_knowledge(tmp_path)
    (folder / "zz_typo.yaml").write_text(
        "entries:\n"
        "  - id: zztypo\n    title: Typo\n    phrasings:\n"
        "      - is djnago any good for dashboards\n      - zz second phrasing here\n"
        "      - zz third phrasing here\n      - zz fourth phrasing here\n"
        f"    answer: An answer.\n    sources: [{shipped_source_id()}]\n"
    )

    assert main(["kb", "check", str(folder)]) == 0

    out = capsys.readouterr().out
    assert "warning: 'zztypo' has 'djnago' in 'is djnago any good for dashboards'" in out
    assert "a misspelling of 'django'" in out
    assert "misspelling" not in main_check_of_shipped(capsys)


def main_check_of_shipped(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["kb", "check"]) == 0
    return capsys.readouterr().out


def copy_of_shipped_knowledge(tmp_path: Path) -> Path:
    shipped = Path(__file__).resolve().parent.parent / "knowledge"
    folder = tmp_path / "knowledge"
    folder.mkdir()
    for path in shipped.glob("*.yaml"):
        (folder / path.name).write_text(path.read_text())
    return folder
