"""The terminal front end: line editing, layout to the terminal's width, the questionnaire and
the interactive session, on the same engine the Slack app uses.

Line editing and history come from the standard `readline` (GNU readline on Linux and macOS's
Python builds): arrows, Ctrl-A/E/U/W, Ctrl-R and up/down through earlier questions, with no
dependency to install. Output is laid out for the terminal's current width without splitting
a word or a URL; on a terminal, URLs are clickable (OSC 8 hyperlinks, which terminals that do
not know them ignore) and one too long for the width is shortened with "…" in the text while
its link keeps the whole address. Output that is not a terminal stays plain text at 80 columns
(`framework-bot ask … | cat` is stable), with URLs in full.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.advisor import AnswerError, advise, lean, validate_answers
from bot.knowledge import Entry, KnowledgeBase, Question
from bot.matching import Matcher, matcher_for
from bot.render.text import (
    SESSION_COMMANDS,
    WIDTH,
    hanging_indent,
    render_companies,
    render_entry,
    render_recommendation,
    wrap_text,
)
from bot.render.text_replies import render_understanding

URL = re.compile(r"https?://[^\s()<>]*[^\s()<>.,;:!?'\"]")
_ELLIPSIS = "…"
HISTORY_ENV = "FRAMEWORK_BOT_HISTORY"
"""Where the session keeps its history (default ~/.local/state/framework-bot/history; empty:
no history file)."""

BACK_WORDS = frozenset({"back", "b", "previous", "prev"})
QUIT_WORDS = frozenset({"quit", "cancel", "exit", "q", "stop"})
HELP_WORDS = frozenset({"help", "?", "h"})

SESSION_HELP = """\
Ask me anything about choosing a Python web framework, in your own words, for example
{examples}.
Describe your project ("three of us are building a staff portal with sign-in, which one?")
and I'll say which way it leans. Commands:
  recommend   answer a few questions and get a recommendation
  decide      a team decision: several people answer in turn, then the decision record
  finish      finish the questionnaire from the answers read from your description
  companies   list companies that use each framework, with sources
  help        show this help
  quit        leave (Ctrl-D works too)
After an answer, type the number of a related topic to read it. Arrow keys edit the line;
up and down go through earlier questions."""

QUESTIONNAIRE_HELP = """\
Answer with the option's number{multiple}. You can also type:
  back     go to the previous question (your answers are kept)
  quit     stop the questionnaire (cancel works too; so does Ctrl-C)
  help     show this help"""


class Console:
    """Reads lines (with readline's editing on a terminal) and writes laid-out text."""

    def __init__(self, stdout: TextIO | None = None, stdin: TextIO | None = None) -> None:
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stdin = stdin if stdin is not None else sys.stdin
        self.is_terminal = _isatty(self.stdout)
        term = os.environ.get("TERM", "")
        self.hyperlinks = self.is_terminal and term not in {"dumb", "linux"}
        self.interactive = self.is_terminal and _isatty(self.stdin)
        self._readline = _readline() if self.interactive else None

    def width(self) -> int:
        """The terminal's width now (it may have been resized), or 80 off a terminal."""
        if not self.is_terminal:
            return WIDTH
        return max(20, shutil.get_terminal_size((WIDTH, 24)).columns)

    def show(self, text: str = "") -> None:
        print(self.layout(text), file=self.stdout, flush=True)

    def layout(self, text: str) -> str:
        if not self.is_terminal:
            return wrap_text(text, WIDTH)
        return fit_to_terminal(text, self.width(), hyperlinks=self.hyperlinks)

    def read(self, prompt: str, *, remember: bool = True) -> str:
        """One line; raises EOFError at end of input and KeyboardInterrupt on Ctrl-C."""
        if self.stdin is not sys.stdin or self.stdout is not sys.stdout:
            self.stdout.write(prompt)
            self.stdout.flush()
            line = self.stdin.readline()
            if not line:
                raise EOFError
            return line.rstrip("\n")
        line = input(prompt)
        if self._readline is not None and not remember and line.strip():
            # Questionnaire answers ("2", "1,3") would crowd the questions out of the history.
            length = self._readline.get_current_history_length()
            if length:
                self._readline.remove_history_item(length - 1)
        return line

    def load_history(self) -> None:
        path = history_path()
        if self._readline is None or path is None:
            return
        with contextlib.suppress(OSError):
            self._readline.read_history_file(path)
        self._readline.set_history_length(1000)

    def save_history(self) -> None:
        path = history_path()
        if self._readline is None or path is None:
            return
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            self._readline.write_history_file(path)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _readline():  # type: ignore[no-untyped-def]
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input() still works
        return None
    return readline


def history_path() -> Path | None:
    configured = os.environ.get(HISTORY_ENV)
    if configured is not None:
        return Path(configured) if configured.strip() else None
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(state) / "framework-bot" / "history"


def fit_to_terminal(text: str, width: int, *, hyperlinks: bool) -> str:
    """`text` wrapped at `width` for a terminal: no word or URL split, no line longer than
    `width` (a URL that cannot fit is shortened with "…"), URLs as OSC 8 hyperlinks."""
    shortened: dict[str, str] = {}
    fitted: list[str] = []
    for line in text.split("\n"):
        indent, hanging = hanging_indent(line)
        room = width - max(len(indent), len(hanging)) - 2  # "(" and ")" around a source's URL

        def shorten(match: re.Match[str], room: int = room) -> str:
            url = match.group(0)
            if len(url) <= room:
                return url
            short = url[: max(room - 1, 12)] + _ELLIPSIS
            shortened[short] = url
            return short

        fitted.append(URL.sub(shorten, line))
    wrapped = wrap_text("\n".join(fitted), width)
    if not hyperlinks:
        return wrapped
    return _link(wrapped, shortened)


def _link(text: str, shortened: Mapping[str, str]) -> str:
    alternatives = [re.escape(short) for short in sorted(shortened, key=len, reverse=True)]
    pattern = re.compile("|".join([*alternatives, URL.pattern]))

    def hyperlink(match: re.Match[str]) -> str:
        shown = match.group(0)
        target = shortened.get(shown, shown)
        return f"\x1b]8;;{target}\x1b\\{shown}\x1b]8;;\x1b\\"

    return pattern.sub(hyperlink, text)


# -- the questionnaire -------------------------------------------------------------------------


class Cancelled(Exception):
    """The person left the questionnaire: `quit`/`cancel`, end of input or Ctrl-C."""

    def __init__(self, how: str) -> None:
        super().__init__(how)
        self.how = how

    @property
    def interrupted(self) -> bool:
        return self.how == "Ctrl-C"


_BACK = object()


@dataclass
class Questionnaire:
    """Asks the questions one by one ("Question 3 of 7"), starting from `answers` already
    given (from `--answer`, or later from a description): only the missing questions are asked,
    and `back` can still revisit the given ones. Returns every answer, validated."""

    kb: KnowledgeBase
    console: Console

    def run(self, answers: Mapping[str, Sequence[str]] | None = None) -> dict[str, list[str]]:
        questions = self.kb.questionnaire.questions
        given = {qid: list(ids) for qid, ids in (answers or {}).items() if ids}
        answered = dict(given)
        if given:
            self.console.show(
                f"{len(given)} of {len(questions)} questions are answered already; type "
                "`back` to change them."
            )
        index = self._next_unanswered(answered, -1)
        while index is not None:
            reply = self._ask(questions[index], index, answered.get(questions[index].id))
            if reply is _BACK:
                index -= 1
                continue
            answered[questions[index].id] = reply  # type: ignore[assignment]
            index = self._next_unanswered(answered, index)
            if index is None:
                index = self._first_problem(answered)
        return answered

    def _next_unanswered(self, answered: Mapping[str, list[str]], after: int) -> int | None:
        questions = self.kb.questionnaire.questions
        for index in range(after + 1, len(questions)):
            if questions[index].id not in answered:
                return index
        return None

    def _first_problem(self, answered: dict[str, list[str]]) -> int | None:
        """The index of the first question whose answer the advisor refuses (a combination a
        question forbids), reported and removed so it is asked again; None when all is well."""
        try:
            validate_answers(self.kb.questionnaire, answered)
        except AnswerError as error:
            questions = [q.id for q in self.kb.questionnaire.questions]
            for problem in error.problems:
                if problem.question is not None and problem.question.id in answered:
                    self.console.show(f"That answer does not work: {problem}")
                    del answered[problem.question.id]
                    return questions.index(problem.question.id)
            raise
        return None

    def _ask(self, question: Question, index: int, current: list[str] | None) -> object:
        total = len(self.kb.questionnaire.questions)
        multiple = question.kind == "multiple"
        lines = ["", f"Question {index + 1} of {total}: {question.prompt}"]
        if question.help:
            lines.append(f"  {question.help}")
        lines += [f"  {n}. {option.label}" for n, option in enumerate(question.options, start=1)]
        if current:
            labels = ", ".join(o.label for o in question.options if o.id in current)
            lines.append(f"Current answer: {labels} (press Enter to keep it)")
        self.console.show("\n".join(lines))
        hint = "numbers, e.g. 1,3" if multiple else "a number"
        prompt = f"Your answer ({hint}; back, quit, help): "
        while True:
            try:
                reply = self.console.read(prompt, remember=False).strip()
            except EOFError:
                self.console.show()
                raise Cancelled("end of input") from None
            except KeyboardInterrupt:
                self.console.show()
                raise Cancelled("Ctrl-C") from None
            word = reply.lower().strip(".!")
            if not word and current:
                return list(current)
            if word in HELP_WORDS:
                more = " (several: separate them with commas)" if multiple else ""
                self.console.show(QUESTIONNAIRE_HELP.format(multiple=more))
                continue
            if word in BACK_WORDS:
                if index == 0:
                    self.console.show("This is the first question; there is nothing before it.")
                    continue
                return _BACK
            if word in QUIT_WORDS:
                raise Cancelled(word)
            picked, problem = parse_choice(question, reply)
            if problem is None:
                return picked
            self.console.show(problem)


def parse_choice(question: Question, reply: str) -> tuple[list[str], str | None]:
    """The option ids a reply picks (numbers or option ids, separated by commas or spaces),
    or a sentence saying what is wrong with it."""
    count = len(question.options)
    multiple = question.kind == "multiple"
    hint = (
        f"numbers from 1 to {count}, separated by commas"
        if multiple
        else (f"a number from 1 to {count}")
    )
    parts = [part for part in re.split(r"[,\s]+", reply.strip()) if part]
    if not parts:
        return [], f"Please type {hint} (or back, quit, help)."
    ids = {option.id: option for option in question.options}
    picked: list[str] = []
    for part in parts:
        if part.isdigit() and 1 <= int(part) <= count:
            picked.append(question.options[int(part) - 1].id)
        elif part.lower() in ids:
            picked.append(part.lower())
        else:
            return [], f"{part!r} is not one of the options: please type {hint}."
    picked = list(dict.fromkeys(picked))
    if not multiple and len(picked) > 1:
        return [], f"Please pick one option only: {hint}."
    alone = [ids[i] for i in picked if ids[i].exclusive]
    if alone and len(picked) > 1:
        return [], (
            f"“{alone[0].label}” cannot be combined with other options: pick it on its own, "
            "or leave it out."
        )
    return picked, None


# -- the session -------------------------------------------------------------------------------


def session_help(kb: KnowledgeBase) -> str:
    """The session's help, with example questions taken from the knowledge."""
    examples = " or ".join(f'"{entry.phrasings[0]}"' for entry in kb.entries[:2])
    return SESSION_HELP.format(examples=examples)


@dataclass
class _SessionState:
    """What one line of the session leaves for the next: topics offered by number, and the
    answers read from the last project description (for `finish`)."""

    offered: list[Entry]
    read_answers: dict[str, tuple[str, ...]]
    leaving: bool = False


FINISH_HINT = "Type `finish` to answer the rest of the questionnaire with these answers chosen."


def session(kb: KnowledgeBase, console: Console | None = None) -> int:
    """The interactive terminal session: questions, project descriptions, `recommend`,
    `finish`, `companies`, `help`, `quit`, and a number to read one of the topics offered."""
    console = console if console is not None else Console()
    matcher = matcher_for(kb)
    console.load_history()
    console.show("Framework Advisor, in the terminal. Type a question, or `help`.")
    state = _SessionState(offered=[], read_answers={})
    try:
        while True:
            try:
                line = console.read("> ").strip()
            except EOFError:
                console.show()
                return 0
            except KeyboardInterrupt:
                console.show("\n(Type quit or press Ctrl-D to leave.)")
                continue
            _session_command(kb, console, matcher, line, state)
            if state.leaving:
                return 0
    finally:
        console.save_history()


def _session_command(
    kb: KnowledgeBase, console: Console, matcher: Matcher, line: str, state: _SessionState
) -> None:
    """Run one line of the session, updating `state`."""
    command = line.lower().strip("!?. ")
    if not command:
        return
    if command in {"quit", "exit", "bye"}:
        state.leaving = True
        return
    if command in {"help", "?"} or line.strip() == "?":
        console.show(session_help(kb) + "\n")
        return
    if command == "recommend":
        recommend_in_session(kb, console)
        state.offered = []
        return
    if command == "decide":
        from bot.team_session import decide_in_session

        decide_in_session(kb, console)
        state.offered = []
        return
    if command == "finish":
        if not state.read_answers:
            console.show("Describe your project first, or type `recommend`.\n")
            return
        recommend_in_session(kb, console, state.read_answers)
        state.offered, state.read_answers = [], {}
        return
    if command == "companies":
        console.show(render_companies(kb, [f.id for f in kb.frameworks]) + "\n")
        return
    if command.isdigit() and state.offered:
        number = int(command)
        if not 1 <= number <= len(state.offered):
            console.show(f"Type a number from 1 to {len(state.offered)}, or a question.\n")
            return
        entry = state.offered[number - 1]
        related = [kb.entry(entry_id) for entry_id in entry.related]
        console.show(
            render_entry(kb, entry, related, numbered=True, commands=SESSION_COMMANDS) + "\n"
        )
        state.offered = related
        return
    understanding = matcher.understand(line)
    intent = understanding.intent
    if understanding.kind == "intent" and intent and intent.action == "start-questionnaire":
        recommend_in_session(kb, console)
        state.offered = []
        return
    if understanding.kind == "project" and understanding.reading is not None:
        state.read_answers = lean(kb, understanding.reading.answers).answers
    reply = render_understanding(
        kb, understanding, numbered=True, commands=SESSION_COMMANDS, finish_hint=FINISH_HINT
    )
    console.show(reply + "\n")
    state.offered = (
        [candidate.entry for candidate in understanding.match.alternatives]
        if understanding.kind in {"answer", "not-sure"}
        else []
    )


def recommend_in_session(
    kb: KnowledgeBase, console: Console, answers: Mapping[str, Sequence[str]] | None = None
) -> None:
    """The questionnaire inside the session; leaving it returns to the session's prompt."""
    try:
        answered = Questionnaire(kb, console).run(answers)
    except Cancelled as stop:
        why = " (Ctrl-C)" if stop.interrupted else ""
        console.show(
            f"Questionnaire stopped{why}; your answers so far were dropped. Type `recommend` "
            "to start again.\n"
        )
        return
    console.show("\n" + render_recommendation(kb, advise(kb, answered)) + "\n")
