"""The terminal session as a person meets it: driven through a pseudo-terminal 80 columns wide,
waiting on what the bot prints (never on fixed sleeps)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, Question
from bot.matching import Matcher
from bot.terminal import fit_to_terminal
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow  # a pseudo-terminal running the CLI

COLUMNS = 80
TIMEOUT = 30.0
OSC8 = re.compile(r"\x1b\]8;;([^\x1b]*)\x1b\\")
ESCAPES = re.compile(r"\x1b\][^\x1b\x07]*(?:\x1b\\|\x07)|\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]")
VISIBLE_URL = re.compile(r"https?://[^\s()<>]*[^\s()<>.,;:!?'\"]…?")


class Terminal:
    """A child process on a pseudo-terminal of COLUMNS columns."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: its controlling terminal is the pty, as in a real terminal
            try:
                command = args if args[:1] == ["-c"] else ["-m", "bot", *args]
                os.execve(sys.executable, [sys.executable, *command], env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLUMNS, 0, 0))
        self.output = ""
        self._mark = 0
        self.status: int | None = None

    def expect(self, pattern: str, timeout: float = TIMEOUT) -> str:
        """Wait until `pattern` (a regex) appears in the output after the last expectation;
        returns the output up to and including it."""
        wanted = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            found = wanted.search(self.output, self._mark)
            if found:
                seen = self.output[self._mark : found.end()]
                self._mark = found.end()
                return seen
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._read(remaining):
                raise AssertionError(f"{pattern!r} never came; output:\n{self.output[-3000:]}")

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # the child closed the terminal
            return False
        self.output += chunk.decode("utf-8", errors="replace")
        return bool(chunk)

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def line_editor_ready(self) -> None:
        """Wait until the child's line editor holds the terminal (readline takes it out of
        canonical mode while it reads a line): a Ctrl-C sent before then may meet the
        terminal between two reads, with nobody waiting on it."""
        eventually(
            lambda: not termios.tcgetattr(self.fd)[3] & termios.ICANON,
            "the line editor reading",
            timeout=TIMEOUT,
        )

    def line(self, text: str) -> None:
        self.send(text + "\r")

    def wait(self, timeout: float = TIMEOUT) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                while self._read(0.05):
                    pass
                return self.status
            self._read(0.05)
        raise AssertionError(f"still running; output:\n{self.output[-3000:]}")

    def close(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(self.fd)


@pytest.fixture
def terminal_env(tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SLACK_") and key not in {"COLUMNS", "LINES", "KNOWLEDGE_DIR"}
    }
    env.update(
        TERM="xterm-256color",
        HOME=str(tmp_path),
        FRAMEWORK_BOT_HISTORY=str(tmp_path / "history"),
        DATA_DIR=str(tmp_path / "data"),
    )
    return env


@pytest.fixture
def start(terminal_env: dict[str, str]) -> Iterator:
    started: list[Terminal] = []

    def run(*args: str) -> Terminal:
        terminal = Terminal(list(args), terminal_env)
        started.append(terminal)
        return terminal

    yield run
    for terminal in started:
        terminal.close()


def open_session(start) -> Terminal:
    term = start("chat")
    term.expect(r"> $")
    return term


def leave(term: Terminal) -> None:
    term.line("quit")
    assert term.wait() == 0


def visible_lines(output: str) -> list[str]:
    return ESCAPES.sub("", output).replace("\r\n", "\n").replace("\r", "\n").split("\n")


def assert_fits_and_links_are_whole(output: str, kb: KnowledgeBase) -> None:
    urls = {source.url for source in kb.sources}
    too_long = [line for line in visible_lines(output) if len(line) > COLUMNS]
    assert not too_long, too_long
    targets = OSC8.findall(output)
    assert {target for target in targets if target} <= urls
    for line in visible_lines(output):
        for shown in VISIBLE_URL.findall(line):
            # Whole, or visibly shortened (its hyperlink keeps the whole address).
            assert shown in urls or (
                shown.endswith("…") and any(u.startswith(shown[:-1]) for u in urls)
            ), (shown, line)


def exclusive_pair(kb: KnowledgeBase) -> tuple[Question, str]:
    """The multiple-choice question with a 'None of these' option, and a reply combining it
    with another option (`1,6`)."""
    for question in kb.questionnaire.questions:
        alone = [n for n, o in enumerate(question.options, start=1) if o.exclusive]
        if question.kind == "multiple" and alone:
            other = 1 if alone[0] != 1 else 2
            return question, f"{other},{alone[0]}"
    raise AssertionError("the questionnaire has no exclusive option")


def test_answers_fit_80_columns_with_whole_clickable_urls(start, kb: KnowledgeBase) -> None:
    term = open_session(start)
    questions = (
        "what is django?",
        "does django come with an admin panel?",
        "should I use django or flask?",  # its answer points at the questionnaire
        "companies",
    )
    for question in questions:
        term.line(question)
        seen = term.expect(r"\n> $")
        assert_fits_and_links_are_whole(seen, kb)
        assert "/framework" not in seen  # the terminal's command is `recommend`
    assert OSC8.search(term.output), "URLs are hyperlinks on a terminal"
    leave(term)


def test_every_url_in_the_knowledge_fits_80_columns_without_breaking() -> None:
    from bot.knowledge import load_knowledge

    kb = load_knowledge()
    text = "Sources:\n" + "\n".join(f"  - {s.title} ({s.url})" for s in kb.sources)

    laid_out = fit_to_terminal(text, COLUMNS, hyperlinks=True)

    assert_fits_and_links_are_whole(laid_out, kb)
    assert set(OSC8.findall(laid_out)) - {""} == {s.url for s in kb.sources}


def test_the_questionnaire_counts_goes_back_and_asks_again_on_a_conflict(
    start, kb: KnowledgeBase
) -> None:
    questions = kb.questionnaire.questions
    conflicted, reply = exclusive_pair(kb)
    term = open_session(start)
    term.line("recommend")
    term.expect(rf"Question 1 of {len(questions)}: ")
    term.expect(r"Your answer .*: $")
    term.line("help")
    term.expect(r"back +go to the previous question")
    term.line("1")
    term.expect(rf"Question 2 of {len(questions)}: ")
    term.line("back")
    term.expect(rf"Question 1 of {len(questions)}: ")
    term.expect(r"Current answer: [\s\S]*?Enter to keep it")
    term.line("")  # keeps it
    for number, question in enumerate(questions[1:], start=2):
        term.expect(rf"Question {number} of {len(questions)}: {re.escape(question.prompt)}")
        term.expect(r"Your answer .*: $")
        if question.id == conflicted.id:
            term.line(reply)
            term.expect(r"cannot be combined with other options")
            term.expect(r"Your answer .*: $")  # asked again, nothing lost
        term.line("1")
    seen = term.expect(r"Recommendation: .*\n(.*\n)*?> $")
    assert_fits_and_links_are_whole(seen, kb)
    assert "Traceback" not in term.output
    leave(term)


def test_ctrl_c_in_the_questionnaire_returns_to_the_prompt(start) -> None:
    term = open_session(start)
    term.line("recommend")
    term.line("1")
    term.expect(r"Question 2 of")
    term.expect(r"Your answer .*: $")
    term.line_editor_ready()
    term.send("\x03")
    term.expect(r"Questionnaire stopped \(Ctrl-C\); your answers so far were dropped")
    term.expect(r"> $")
    term.line("what is flask?")
    term.expect(r"What is the Flask framework\?")
    term.expect(r"> $")
    term.send("\x04")  # Ctrl-D leaves
    assert term.wait() == 0
    assert "Traceback" not in term.output


def test_cancel_and_ctrl_d_leave_the_questionnaire_and_the_session_goes_on(start) -> None:
    term = open_session(start)
    term.line("recommend")
    term.expect(r"Your answer .*: $")
    term.line("cancel")
    term.expect(r"Questionnaire stopped; your answers so far were dropped")
    term.expect(r"> $")
    term.line("recommend")
    term.expect(r"Your answer .*: $")
    term.send("\x04")  # Ctrl-D leaves the questionnaire, not the session
    term.expect(r"Questionnaire stopped; your answers so far were dropped")
    term.expect(r"> $")
    leave(term)


def test_line_editing_and_history(start) -> None:
    term = open_session(start)
    term.send("is the flask framework?")
    term.send("\x01")  # Ctrl-A: to the start of the line
    term.send("what ")
    term.send("\r")
    term.expect(r"What is the Flask framework\?")
    term.expect(r"> $")
    term.send("nonsense to erase\x15")  # Ctrl-U erases it
    term.send("\x1b[A")  # up: the previous question again
    term.send("\r")
    seen = term.expect(r"\n> $")
    assert "What is the Flask framework?" in seen
    assert "^[[" not in seen
    leave(term)


def test_a_closest_topic_is_picked_by_its_number(start) -> None:
    term = open_session(start)
    term.line("frameworks compared spring")
    seen = term.expect(r"\n> $")
    assert "The closest topics I know about:" in seen
    title = re.search(r"\n  1\. (.+?)\r?\n", seen).group(1)  # type: ignore[union-attr]
    term.line("1")
    seen = term.expect(r"\n> $")
    assert ESCAPES.sub("", seen).split("\n", 1)[1].lstrip().startswith(title), seen
    assert "not sure" not in seen
    leave(term)


def test_one_shot_recommend_on_a_terminal_asks_again_and_ctrl_c_exits_130(
    start, kb: KnowledgeBase
) -> None:
    conflicted, reply = exclusive_pair(kb)
    given = [
        arg
        for q in kb.questionnaire.questions
        if q.id != conflicted.id
        for arg in ("-a", f"{q.id}={q.options[0].id}")
    ]
    term = start("recommend", *given)
    term.expect(r"questions are answered already")
    term.expect(r"Your answer .*: $")
    term.line(reply)
    term.expect(r"cannot be combined")
    term.expect(r"Your answer .*: $")
    term.line("back")
    term.expect(r"Current answer: ")
    term.expect(r"Your answer .*: $")
    term.send("\x03")
    assert term.wait() == 130
    assert "Traceback" not in term.output


SLOW_START = """
import sys, time
import bot.knowledge
loaded = bot.knowledge.load_knowledge
def slow(*args, **kwargs):
    print("loading the knowledge", flush=True)
    time.sleep(60)
    return loaded(*args, **kwargs)
bot.knowledge.load_knowledge = slow
from bot.cli import main
raise SystemExit(main(["chat"]))
"""


def test_ctrl_c_while_starting_exits_130_without_a_traceback(start) -> None:
    term = start("-c", SLOW_START)
    term.expect("loading the knowledge")
    term.send("\x03")

    assert term.wait() == 130
    assert "Traceback" not in term.output


PORTAL = (
    "two of us are building a staff portal with sign-in, data entry screens and a few "
    "reports, which one?"
)


def test_a_project_description_leans_and_finish_asks_only_the_rest(
    start, kb: KnowledgeBase
) -> None:
    questions = kb.questionnaire.questions
    term = open_session(start)
    term.line(PORTAL)
    seen = term.expect(r"Type `finish` to answer the rest[\s\S]*?> $")
    assert "Leaning Django" in seen and "You mentioned:" in seen
    reply = seen[seen.index("Leaning Django") :]  # the typed line is the terminal's to wrap
    assert_fits_and_links_are_whole(reply, kb)
    read = Matcher(kb).reader.read(PORTAL).answers
    assert "building" in read  # "a staff portal"
    first_unread = next(n for n, q in enumerate(questions, 1) if q.id not in read)
    term.line("finish")
    # What the description said is not asked again: the first question asked is the first unread.
    term.expect(rf"Question {first_unread} of {len(questions)}: ")
    for _ in range(len(questions)):
        found = term.expect(r"(Your answer .*: $)|(Recommendation: .*\n(.*\n)*?> $)")
        if "Recommendation" in found:
            break
        term.line("1")
    assert "Traceback" not in term.output
    leave(term)


def test_small_talk_gets_a_reply_naming_terminal_commands(start) -> None:
    term = open_session(start)
    term.line("thanks, that helped")
    seen = term.expect(r"Glad it helped![\s\S]*?> $")
    assert "`recommend`" in seen and "/framework" not in seen
    leave(term)
