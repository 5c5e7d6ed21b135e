"""`framework-bot`: the terminal front end on the same engine the Slack app uses.

With no Slack credentials, the bare command starts an interactive terminal session, so anyone
can try the bot at once; with credentials it serves Slack.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.advisor import AnswerError, advise, missing_questions, validate_answers
from bot.knowledge import (
    DEFAULT_KNOWLEDGE_DIR,
    KnowledgeBase,
    KnowledgeError,
    Question,
    load_knowledge,
)
from bot.matching import Matcher, find_ambiguities
from bot.render.text import render_companies, render_match, render_recommendation, render_stats
from bot.settings import Settings
from bot.store import EXPORT_FORMATS, EXPORT_KINDS, Store, StoreUnavailable, create_store

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2

SESSION_HELP = """\
Ask me anything about choosing a Python web framework, in your own words, for example
{examples}.
Commands:
  recommend   answer a few questions and get a recommendation
  companies   list companies that use each framework, with sources
  help        show this help
  quit        leave (Ctrl-D works too)"""


def session_help(kb: KnowledgeBase) -> str:
    """The session's help, with example questions taken from the knowledge."""
    examples = " or ".join(f'"{entry.phrasings[0]}"' for entry in kb.entries[:2])
    return SESSION_HELP.format(examples=examples)


class _Quit(Exception):
    """The person ended the session (quit, Ctrl-D or Ctrl-C) in the middle of a prompt."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="framework-bot",
        description="Framework Advisor: helps a team choose a Python web framework. With no "
        "command it serves Slack when Slack credentials are set, and otherwise starts a "
        "terminal session.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser(
        "serve",
        help="serve Slack (Socket Mode with SLACK_APP_TOKEN, else HTTP)",
        description="Serve Slack: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP on "
        "$PORT with SLACK_SIGNING_SECRET and either SLACK_BOT_TOKEN (one workspace) or "
        "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (any workspace that installs the app at "
        "/slack/install). State goes to DATABASE_URL, or an SQLite file in DATA_DIR.",
    )
    commands.add_parser(
        "chat",
        help="the interactive terminal session",
        description="Ask questions and run the questionnaire in the terminal.",
    )

    ask = commands.add_parser(
        "ask", help="answer one question", description="Print the answer to one question."
    )
    ask.add_argument("question", nargs="+", help="the question, in your own words")

    recommend = commands.add_parser(
        "recommend",
        help="run the questionnaire",
        description="Run the questionnaire and print a recommendation. Answers not given with "
        "--answer are asked for on a terminal; without a terminal they are an error.",
    )
    recommend.add_argument(
        "--answer",
        "-a",
        action="append",
        default=[],
        metavar="QUESTION=OPTION",
        help="answer a question (repeat it; for several options use a,b or repeat the question)",
    )

    companies = commands.add_parser(
        "companies",
        help="companies that use each framework",
        description="List the companies in the knowledge, with their sources.",
    )
    companies.add_argument("framework", nargs="?", help="only this framework's companies")

    stats = commands.add_parser(
        "stats",
        help="usage figures from the store",
        description="Questions asked, answered vs not sure, top entries, helpful rates, the "
        "most frequent unanswered questions and recommendation outcomes, per workspace.",
    )
    stats.add_argument("--days", type=int, default=30, help="the period, in days (default 30)")
    stats.add_argument("--team", help="only this workspace (Slack team id)")

    export = commands.add_parser(
        "export",
        help="export stored feedback or unanswered questions",
        description="Print every stored vote or every not-sure question as CSV.",
    )
    export.add_argument("--what", choices=EXPORT_KINDS, required=True)
    export.add_argument("--format", choices=EXPORT_FORMATS, default="csv", dest="fmt")
    export.add_argument("--team", help="only this workspace (Slack team id)")

    kb = commands.add_parser("kb", help="knowledge base tools", description="Knowledge base tools.")
    kb_commands = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND", required=True)
    check = kb_commands.add_parser(
        "check",
        help="validate a knowledge folder",
        description="Validate a knowledge folder: errors name file, line and field (exit 1); "
        "a clean folder prints a summary and warns about entries whose phrasings collide.",
    )
    check.add_argument("directory", nargs="?", type=Path, help="default: KNOWLEDGE_DIR or shipped")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _run(build_parser().parse_args(argv))
    except BrokenPipeError:
        # The reader went away (`framework-bot companies | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    settings = _settings()
    if settings is None:
        return EXIT_USAGE
    if args.command == "kb":
        return check_knowledge(args.directory or settings.knowledge_dir or DEFAULT_KNOWLEDGE_DIR)
    if args.command == "serve" or (args.command is None and has_slack_credentials(settings)):
        from bot.slack.serving.server import serve

        return serve(settings)

    if args.command == "export":
        return export_records(settings, args.what, args.fmt, args.team)
    kb = _load(settings.knowledge_dir)
    if kb is None:
        return EXIT_ERROR
    if args.command == "stats":
        return show_stats(kb, settings, args.days, args.team)
    if args.command == "ask":
        print(render_match(kb, Matcher(kb).match(" ".join(args.question))))
        return EXIT_OK
    if args.command == "recommend":
        return recommend(kb, args.answer, interactive=sys.stdin.isatty())
    if args.command == "companies":
        return list_companies(kb, args.framework)
    return session(kb)


def has_slack_credentials(settings: Settings) -> bool:
    """Any Slack credential set means the person wants Slack, not the terminal."""
    return any(
        (
            settings.slack_app_token,
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_client_id,
            settings.slack_client_secret,
        )
    )


def _settings() -> Settings | None:
    try:
        return Settings()
    except ValueError as error:
        print(f"framework-bot: {error}", file=sys.stderr)
        return None


def _load(directory: Path | None) -> KnowledgeBase | None:
    try:
        return load_knowledge(directory)
    except KnowledgeError as error:
        print(f"framework-bot: {error}\nRun `framework-bot kb check` for details.", file=sys.stderr)
        return None


def check_knowledge(directory: Path) -> int:
    """`kb check`: every problem with file, line and field; or a summary and collision warnings."""
    try:
        kb = load_knowledge(directory)
    except KnowledgeError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        count = len(error.problems)
        print(f"{count} error{'s' if count != 1 else ''} in {directory}", file=sys.stderr)
        return EXIT_ERROR
    phrasings = sum(len(entry.phrasings) for entry in kb.entries)
    print(
        f"{directory}: OK: {len(kb.frameworks)} frameworks, {len(kb.entries)} entries "
        f"({phrasings} phrasings), {len(kb.companies)} companies, {len(kb.sources)} sources, "
        f"{len(kb.questionnaire.questions)} questions"
    )
    ambiguities = find_ambiguities(kb)
    for pair in ambiguities:
        print(
            f"warning: {pair.first.id!r} and {pair.second.id!r} look alike to the matcher "
            f"(score {pair.score:.0f}): {pair.first_phrasing!r} ~ {pair.second_phrasing!r}"
        )
    if ambiguities:
        print(f"{len(ambiguities)} warnings: reword those phrasings so each names its own topic.")
    return EXIT_OK


def _open_store(settings: Settings) -> Store:
    url = settings.database_url.get_secret_value() if settings.database_url else None
    return create_store(url, settings.data_dir, retention_days=None)


def show_stats(kb: KnowledgeBase, settings: Settings, days: int, team: str | None) -> int:
    if days < 1:
        print("framework-bot stats: --days must be 1 or more", file=sys.stderr)
        return EXIT_USAGE
    store = _open_store(settings)
    try:
        since = datetime.now(UTC) - timedelta(days=days)
        teams = [team] if team else store.team_ids()
        if not teams:
            print(f"No questions, votes or recommendations stored yet (last {days} days).")
        for team_id in teams:
            print(render_stats(kb, store.stats(team_id, since)))
    except StoreUnavailable as error:
        print(f"framework-bot stats: the database is unavailable: {error}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        store.close()
    return EXIT_OK


def export_records(settings: Settings, what: str, fmt: str, team: str | None) -> int:
    store = _open_store(settings)
    try:
        sys.stdout.write(store.export(what, team, fmt))  # type: ignore[arg-type]
    except StoreUnavailable as error:
        print(f"framework-bot export: the database is unavailable: {error}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        store.close()
    return EXIT_OK


def parse_answer_args(values: Sequence[str]) -> dict[str, list[str]]:
    """`["size=large", "features=auth,forms", "features=i18n"]` -> one list per question."""
    answers: dict[str, list[str]] = {}
    for value in values:
        question, sep, option = value.partition("=")
        if not sep or not question.strip() or not option.strip():
            raise ValueError(f"--answer {value!r} is not QUESTION=OPTION")
        answers.setdefault(question.strip(), []).extend(
            part.strip() for part in option.split(",") if part.strip()
        )
    return answers


def recommend(kb: KnowledgeBase, answer_args: Sequence[str], *, interactive: bool) -> int:
    try:
        answers = parse_answer_args(answer_args)
    except ValueError as error:
        print(f"framework-bot recommend: {error}", file=sys.stderr)
        return EXIT_USAGE
    questionnaire = kb.questionnaire
    if interactive:
        try:
            for question in missing_questions(questionnaire, answers):
                answers[question.id] = ask_question(question, input_line=_read_line)
        except _Quit:
            return EXIT_USAGE
    try:
        validate_answers(questionnaire, answers)
    except AnswerError as error:
        print(f"framework-bot recommend: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(render_recommendation(kb, advise(kb, answers)))
    return EXIT_OK


def list_companies(kb: KnowledgeBase, framework: str | None) -> int:
    known = [f.id for f in kb.frameworks]
    if framework is not None and framework.lower() not in known:
        print(
            f"Unknown framework {framework!r}; choose one of: {', '.join(known)}", file=sys.stderr
        )
        return EXIT_USAGE
    print(render_companies(kb, [framework.lower()] if framework else known))
    return EXIT_OK


def _read_line(prompt: str) -> str:
    try:
        return input(prompt)
    except (EOFError, KeyboardInterrupt):
        print()
        raise _Quit from None


def ask_question(question: Question, *, input_line: Callable[[str], str]) -> list[str]:
    """Prompt until the person picks valid option numbers; returns the option ids."""
    multiple = question.kind == "multiple"
    print(f"\n{question.prompt}")
    if question.help:
        print(f"  {question.help}")
    for number, option in enumerate(question.options, start=1):
        print(f"  {number}. {option.label}")
    hint = "numbers separated by commas" if multiple else "a number"
    while True:
        reply = input_line(f"Your answer ({hint}): ").replace(" ", "")
        picks = [part for part in reply.split(",") if part]
        valid = all(p.isdigit() and 1 <= int(p) <= len(question.options) for p in picks)
        if picks and valid and (multiple or len(picks) == 1):
            return list(dict.fromkeys(question.options[int(p) - 1].id for p in picks))
        print(f"Please type {hint} from 1 to {len(question.options)}.")


def session(kb: KnowledgeBase) -> int:
    """The interactive terminal session: questions, `recommend`, `companies`, `help`, `quit`."""
    matcher = Matcher(kb)
    print("Framework Advisor, in the terminal. Type a question, or `help`.")
    while True:
        try:
            line = _read_line("> ").strip()
        except _Quit:
            return EXIT_OK
        command = line.lower().strip("!?. ")
        if not command:
            continue
        if command in {"quit", "exit", "bye"}:
            return EXIT_OK
        if command in {"help", "?"}:
            print(session_help(kb))
        elif command == "recommend":
            try:
                answers = {
                    q.id: ask_question(q, input_line=_read_line) for q in kb.questionnaire.questions
                }
            except _Quit:
                return EXIT_OK
            print("\n" + render_recommendation(kb, advise(kb, answers)))
        elif command == "companies":
            print(render_companies(kb, [f.id for f in kb.frameworks]))
        else:
            print(render_match(kb, matcher.match(line)))
        print()
