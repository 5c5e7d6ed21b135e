"""`framework-bot`: the terminal front end on the same engine the Slack app uses.

With no Slack credentials, the bare command starts an interactive terminal session, so anyone
can try the bot at once; with credentials it serves Slack.

Only the standard library is imported at the top: the engine (pydantic, rapidfuzz, SQLAlchemy)
is imported inside `main`, so Ctrl-C while it loads ends the command like Ctrl-C anywhere
else, with exit status 130 and no traceback.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import textwrap
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.knowledge import KnowledgeBase
    from bot.settings import Settings
    from bot.store import Store

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

NOT_RECORDED = (
    "The store records what happens in Slack (questions, votes, recommendations); the terminal "
    "session and one-shot commands such as `ask` and `recommend` are not recorded."
)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that knows its subcommands' parsers, so that every usage error is
    reported with the usage of the subcommand it concerns."""

    subcommands: dict[str, argparse.ArgumentParser]


def build_parser(kb: KnowledgeBase | None = None) -> _Parser:
    """The command line; with `kb`, `recommend --help` lists every question and option id."""
    from bot.exports import EXPORT_FORMATS, EXPORT_KINDS

    parser = _Parser(
        prog="framework-bot",
        description="Framework Advisor: helps a team choose a Python web framework. With no "
        "command it serves Slack when Slack credentials are set, and otherwise starts a "
        "terminal session.",
    )
    commands = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        help="what to do (default: the terminal session; `serve` when Slack credentials are set)",
    )
    subs: dict[str, argparse.ArgumentParser] = {}

    subs["serve"] = commands.add_parser(
        "serve",
        help="serve Slack (Socket Mode with SLACK_APP_TOKEN, else HTTP)",
        description="Serve Slack: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP on "
        "$PORT with SLACK_SIGNING_SECRET and either SLACK_BOT_TOKEN (one workspace) or "
        "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (any workspace that installs the app at "
        "/slack/install). State goes to DATABASE_URL, or an SQLite file in DATA_DIR.",
    )
    subs["chat"] = commands.add_parser(
        "chat",
        help="the interactive terminal session",
        description="Ask questions and run the questionnaire in the terminal. Nothing you type "
        "is recorded in the store.",
    )

    ask = subs["ask"] = commands.add_parser(
        "ask", help="answer one question", description="Print the answer to one question."
    )
    ask.add_argument("question", nargs="+", help="the question, in your own words")

    recommend = subs["recommend"] = commands.add_parser(
        "recommend",
        help="run the questionnaire",
        description="Run the questionnaire and print a recommendation. Answers not given with "
        "--answer are asked for on a terminal; without a terminal they are an error.",
        epilog=questions_epilog(kb),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    recommend.add_argument(
        "--answer",
        "-a",
        action="append",
        default=[],
        metavar="QUESTION=OPTION",
        help="answer a question (repeat it; for several options use a,b or repeat the question)",
    )
    recommend.add_argument(
        "--from-text",
        metavar="DESCRIPTION",
        help="describe your project in your own words; the answers it names are chosen for "
        "you (--answer overrides them) and only the rest are asked",
    )

    companies = subs["companies"] = commands.add_parser(
        "companies",
        help="companies that use each framework",
        description="List the companies in the knowledge, with their sources.",
    )
    companies.add_argument("framework", nargs="?", help="only this framework's companies")

    stats = subs["stats"] = commands.add_parser(
        "stats",
        help="usage figures from the store",
        description="Questions asked, answered vs not sure, top entries, helpful rates, the "
        "most frequent unanswered questions and recommendation outcomes, per workspace. "
        + NOT_RECORDED,
    )
    stats.add_argument("--days", type=int, default=30, help="the period, in days (default 30)")
    stats.add_argument("--team", help="only this workspace (Slack team id, T…)")

    export = subs["export"] = commands.add_parser(
        "export",
        help="export stored feedback or unanswered questions",
        description="Print every stored vote or every not-sure question as CSV. " + NOT_RECORDED,
    )
    export.add_argument(
        "--what",
        choices=EXPORT_KINDS,
        required=True,
        help="feedback: every Helpful / Not helpful vote; unanswered: every question the bot "
        "was not sure about, with the closest topics",
    )
    export.add_argument(
        "--format", choices=EXPORT_FORMATS, default="csv", dest="fmt", help="(default csv)"
    )
    export.add_argument("--team", help="only this workspace (Slack team id, T…)")

    decision = subs["decision"] = commands.add_parser(
        "decision",
        help="team decisions made in Slack with /framework decide",
        description="Team decisions made in Slack with `/framework decide`, from the store "
        "(DATABASE_URL, or the SQLite file in DATA_DIR).",
    )
    decision_commands = decision.add_subparsers(
        dest="decision_command", metavar="DECISION_COMMAND", required=True, help="what to do"
    )
    listing = subs["decision list"] = decision_commands.add_parser(
        "list",
        help="every decision, newest first",
        description="Every team decision, newest first: its id, status, title, who answered "
        "and the outcome.",
    )
    listing.add_argument("--team", help="only this workspace (Slack team id, T…)")
    show = subs["decision show"] = decision_commands.add_parser(
        "show",
        help="one decision: who answered what, the lean, where people disagree",
        description="One team decision in full: its summary, then its decision record "
        "(status proposed while it is open).",
    )
    show.add_argument("id", metavar="ID", help="the decision's number, as `decision list` shows")
    export_decision = subs["decision export"] = decision_commands.add_parser(
        "export",
        help="the decision record (MADR 4.0 Markdown)",
        description="Print a decision's record in MADR 4.0 form, e.g. to commit it as "
        "docs/decisions/NNNN-title.md. With --output DIR it is written there under that name.",
    )
    export_decision.add_argument(
        "id", metavar="ID", help="the decision's number, as `decision list` shows"
    )
    export_decision.add_argument(
        "--format", choices=("md",), default="md", dest="fmt", help="md: Markdown (default)"
    )
    export_decision.add_argument(
        "--output",
        type=Path,
        help="a folder to write NNNN-title.md into, or a file name (default: standard output)",
    )

    kb_parser = subs["kb"] = commands.add_parser(
        "kb", help="knowledge base tools", description="Knowledge base tools."
    )
    kb_commands = kb_parser.add_subparsers(
        dest="kb_command", metavar="KB_COMMAND", required=True, help="the tool to run"
    )
    check = subs["kb check"] = kb_commands.add_parser(
        "check",
        help="validate a knowledge folder",
        description="Validate a knowledge folder: errors name file, line, field and the entry's "
        "id (exit 1); a clean folder prints a summary and warns about entries whose phrasings "
        "collide.",
    )
    check.add_argument(
        "directory",
        nargs="?",
        type=Path,
        help="the folder to check (default: KNOWLEDGE_DIR, or the shipped knowledge/)",
    )
    parser.subcommands = subs
    return parser


def questions_epilog(kb: KnowledgeBase | None) -> str:
    """`recommend --help`'s list of every question id with its option ids."""
    if kb is None:
        return "The questions could not be read: run `framework-bot kb check` for details."
    lines = ["questions and their options (QUESTION=OPTION):"]
    for question in kb.questionnaire.questions:
        several = " (one or more, comma-separated)" if question.kind == "multiple" else ""
        lines.append(f"  {question.id}: {question.prompt}{several}")
        for option in question.options:
            lines += textwrap.wrap(
                f"{option.id} - {option.label}",
                78,
                initial_indent="      ",
                subsequent_indent="        ",
                break_on_hyphens=False,
            )
    first = kb.questionnaire.questions[0]
    lines += ["", f"example: framework-bot recommend -a {first.id}={first.options[0].id}"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # Ctrl-C anywhere (loading, matching, a prompt outside the session): stop quietly.
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`framework-bot companies | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR


def _main(argv: Sequence[str] | None) -> int:
    settings = _settings()
    if settings is None:
        return EXIT_USAGE
    kb = _knowledge_for_help(settings)
    parser = build_parser(kb)
    args, extra = parser.parse_known_args(argv)
    nested = {"kb": "kb_command", "decision": "decision_command"}.get(str(args.command))
    name = f"{args.command} {getattr(args, nested)}" if nested else str(args.command)
    usage = parser.subcommands.get(name, parser)
    if extra:
        usage.error(f"unrecognized arguments: {' '.join(extra)}")
    return _run(args, settings, usage, kb)


def _knowledge_for_help(settings: Settings) -> KnowledgeBase | None:
    from bot.knowledge import KnowledgeError, load_knowledge

    try:
        return load_knowledge(settings.knowledge_dir)
    except KnowledgeError:
        return None


def _run(
    args: argparse.Namespace,
    settings: Settings,
    usage: argparse.ArgumentParser,
    kb: KnowledgeBase | None = None,
) -> int:
    from bot.knowledge import DEFAULT_KNOWLEDGE_DIR

    if args.command == "kb":
        return check_knowledge(
            args.directory or settings.knowledge_dir or DEFAULT_KNOWLEDGE_DIR,
            review_after_days=settings.review_after_days,
        )
    if args.command == "serve" or (args.command is None and has_slack_credentials(settings)):
        from bot.slack.serving.server import serve

        return serve(settings)
    if args.command == "stats" and args.days < 1:
        usage.error("--days must be 1 or more")
    if args.command == "ask" and not " ".join(args.question).strip():
        usage.error("the question is empty; ask it in your own words")
    if args.command == "export":
        return export_records(settings, args.what, args.fmt, args.team)
    decision_id = None
    if args.command == "decision" and args.decision_command != "list":
        decision_id = parse_decision_id(args.id)
        if decision_id is None:
            usage.error(
                f"{args.id!r} is not a decision number; `framework-bot decision list` shows them"
            )
    kb = kb if kb is not None else _load(settings.knowledge_dir)
    if kb is None:
        return EXIT_ERROR
    if args.command == "decision":
        from bot.decision_cli import export_decision, list_decisions, show_decision

        if args.decision_command == "list":
            return list_decisions(kb, settings, args.team)
        assert decision_id is not None
        if args.decision_command == "show":
            return show_decision(kb, settings, decision_id)
        return export_decision(kb, settings, decision_id, args.output)
    if args.command == "stats":
        return show_stats(kb, settings, args.days, args.team)
    if args.command == "ask":
        return ask(kb, " ".join(args.question))
    if args.command == "recommend":
        read = read_description(kb, args.from_text) if args.from_text is not None else None
        if read is not None and not read:
            print(
                "framework-bot recommend: nothing in that description names an answer; "
                "the questionnaire asks every question.",
                file=sys.stderr,
            )
        return recommend(kb, args.answer, interactive=sys.stdin.isatty(), usage=usage, answers=read)
    if args.command == "companies":
        return list_companies(kb, args.framework, usage)
    from bot.terminal import session

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
    from bot.settings import Settings

    try:
        return Settings()
    except ValueError as error:
        print(f"framework-bot: {error}", file=sys.stderr)
        return None


def _load(directory: Path | None) -> KnowledgeBase | None:
    from bot.knowledge import KnowledgeError, load_knowledge

    try:
        return load_knowledge(directory)
    except KnowledgeError as error:
        print(f"framework-bot: {error}\nRun `framework-bot kb check` for details.", file=sys.stderr)
        return None


def ask(kb: KnowledgeBase, question: str) -> int:
    """`ask`: the reply to one message: an answer, small talk's reply, or a project's lean."""
    import shlex

    from bot.matching import matcher_for
    from bot.render.text_replies import render_understanding
    from bot.terminal import Console

    hint = (
        "To finish the questionnaire with these answers chosen:\n"
        f"  framework-bot recommend --from-text {shlex.quote(question)}"
    )
    understanding = matcher_for(kb).understand(question)
    Console().show(render_understanding(kb, understanding, finish_hint=hint))
    return EXIT_OK


def read_description(kb: KnowledgeBase, text: str) -> dict[str, list[str]]:
    """The questionnaire answers a project description names, said on stderr as they are read,
    so the person sees why those questions are not asked."""
    from bot.advisor import lean
    from bot.matching import matcher_for

    reading = matcher_for(kb).reader.read(text)
    answers = lean(kb, reading.answers).answers
    for signal in reading.signals:
        if signal.option.id in answers.get(signal.question.id, ()):
            print(
                f"From your description: {signal.question.prompt} {signal.option.label} "
                f"(you said “{signal.phrase}”)",
                file=sys.stderr,
            )
    return {question: list(options) for question, options in answers.items()}


def check_knowledge(
    directory: Path, *, review_after_days: int = 180, today: date | None = None
) -> int:
    """`kb check`: every problem with file, line and field; or a summary and warnings about
    colliding phrasings and about answers whose review is older than `review_after_days`."""
    from bot.knowledge import KnowledgeError, load_knowledge
    from bot.matching import find_ambiguities, find_misspelled_names, matcher_for

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
    matcher = matcher_for(kb)
    ambiguities = find_ambiguities(kb, matcher)
    for pair in ambiguities:
        print(
            f"warning: {pair.first.id!r} and {pair.second.id!r} look alike to the matcher "
            f"(score {pair.score:.0f}): {pair.first_phrasing!r} ~ {pair.second_phrasing!r}"
        )
    if ambiguities:
        print(f"{len(ambiguities)} warnings: reword those phrasings so each names its own topic.")
    for typo in find_misspelled_names(kb, matcher):
        print(
            f"warning: {typo.entry.id!r} has {typo.word!r} in {typo.phrasing!r}, a misspelling "
            f"of {typo.name!r}: write the name right (the matcher corrects typos in messages, "
            "and a typo in a phrasing would become a word it no longer corrects)."
        )
    for entry in kb.stale_entries(review_after_days, today or datetime.now(UTC).date()):
        owner = f" (owner {entry.owner})" if entry.owner else ""
        print(
            f"warning: {entry.id!r} was last reviewed on {entry.reviewed}{owner}, more than "
            f"{review_after_days} days ago (REVIEW_AFTER_DAYS): check it against its sources "
            "and update `reviewed`."
        )
    return EXIT_OK


def _database_url(settings: Settings) -> str | None:
    return settings.database_url.get_secret_value() if settings.database_url else None


def _open_store(settings: Settings) -> Store | None:
    """The store, or None when it is the default SQLite file and there is none yet: reading
    must not create a database only to find it empty."""
    from bot.store import create_store
    from bot.store.engine import SQLITE_FILE_NAME

    url = _database_url(settings)
    if not url and not (settings.data_dir / SQLITE_FILE_NAME).exists():
        return None
    return create_store(url, settings.data_dir, retention_days=None)


def _where(settings: Settings) -> str:
    from bot.store.engine import SQLITE_FILE_NAME

    if _database_url(settings):
        return "the database at DATABASE_URL"
    return f"{settings.data_dir / SQLITE_FILE_NAME}"


def _nothing_stored(settings: Settings, stream=None) -> None:  # type: ignore[no-untyped-def]
    print(f"Nothing is stored yet in {_where(settings)}.\n{NOT_RECORDED}", file=stream)


def show_stats(kb: KnowledgeBase, settings: Settings, days: int, team: str | None) -> int:
    from bot.render.text import render_stats
    from bot.store import StoreUnavailable

    store = _open_store(settings)
    if store is None:
        _nothing_stored(settings)
        return EXIT_OK
    try:
        since = datetime.now(UTC) - timedelta(days=days)
        known = store.team_ids()
        if not known:
            _nothing_stored(settings)
        elif team is not None and team not in known:
            print(
                f"Nothing is stored for workspace {team}. Workspaces with stored activity: "
                f"{', '.join(known)}."
            )
        for team_id in [team] if team and team in known else known:
            print(render_stats(kb, store.stats(team_id, since)))
    except StoreUnavailable as error:
        print(f"framework-bot stats: the database is unavailable: {error}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        store.close()
    return EXIT_OK


def export_records(settings: Settings, what: str, fmt: str, team: str | None) -> int:
    """The CSV on standard output; when there is nothing to export, a note on standard error
    saying why (the CSV itself stays clean for a pipe)."""
    from bot.store import StoreUnavailable

    store = _open_store(settings)
    if store is None:
        _nothing_stored(settings, sys.stderr)
        return EXIT_OK
    try:
        text = store.export(what, team, fmt)  # type: ignore[arg-type]
        sys.stdout.write(text)
        if len(text.strip().splitlines()) <= 1:
            scope = f" for workspace {team}" if team else ""
            print(f"No {what} records stored{scope}. {NOT_RECORDED}", file=sys.stderr)
    except StoreUnavailable as error:
        print(f"framework-bot export: the database is unavailable: {error}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        store.close()
    return EXIT_OK


def parse_decision_id(text: str) -> int | None:
    """A decision's number ("7", "#7"), or None when `text` is not one."""
    digits = text.strip().removeprefix("#")
    return int(digits) if digits.isdigit() and int(digits) > 0 else None


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


def unknown_ids(kb: KnowledgeBase, answers: Mapping[str, Sequence[str]]) -> list[str]:
    """A sentence for every unknown question or option id, suggesting the closest known one."""
    questionnaire = kb.questionnaire
    question_ids = [q.id for q in questionnaire.questions]
    problems = []
    for question_id, option_ids in answers.items():
        if question_id not in question_ids:
            problems.append(
                f"{question_id!r} is not a question{_did_you_mean(question_id, question_ids)}; "
                f"the questions are {', '.join(question_ids)}"
            )
            continue
        question = questionnaire.question(question_id)
        known = [option.id for option in question.options]
        for option_id in option_ids:
            if option_id not in known:
                problems.append(
                    f"{question_id}={option_id}: {option_id!r} is not one of its options"
                    f"{_did_you_mean(option_id, known)}; the options are {', '.join(known)}"
                )
    return problems


def _did_you_mean(given: str, known: Sequence[str]) -> str:
    closest = difflib.get_close_matches(given, known, n=1, cutoff=0.6)
    return f" (did you mean {closest[0]!r}?)" if closest else ""


def recommend(
    kb: KnowledgeBase,
    answer_args: Sequence[str],
    *,
    interactive: bool,
    usage: argparse.ArgumentParser | None = None,
    answers: Mapping[str, Sequence[str]] | None = None,
) -> int:
    """`recommend`: answers from `--answer` (and `answers`, pre-filled by the caller), the
    missing ones asked for on a terminal."""
    from bot.advisor import AnswerError, advise, validate_answers
    from bot.render.text import render_recommendation
    from bot.terminal import Cancelled, Console, Questionnaire

    def fail(message: str) -> int:
        if usage is not None:
            usage.print_usage(sys.stderr)
        print(f"framework-bot recommend: {message}", file=sys.stderr)
        return EXIT_USAGE

    try:
        given = {k: list(v) for k, v in (answers or {}).items()}
        for question_id, ids in parse_answer_args(answer_args).items():
            given.setdefault(question_id, []).extend(ids)
    except ValueError as error:
        return fail(str(error))
    problems = unknown_ids(kb, given)
    if problems:
        return fail("\n  ".join(["the answers name unknown ids:", *problems]))
    try:
        validate_answers(kb.questionnaire, given)
    except AnswerError as error:
        wrong = [p for p in error.problems if p.question is None or p.question.id in given]
        if wrong or not interactive:
            return fail(str(AnswerError(wrong or error.problems)))
    console = Console()
    if interactive:
        try:
            given = Questionnaire(kb, console).run(given)
        except Cancelled as stop:
            print("Questionnaire stopped; no recommendation.", file=sys.stderr)
            return EXIT_INTERRUPTED if stop.interrupted else EXIT_ERROR
        console.show()
    console.show(render_recommendation(kb, advise(kb, given)))
    return EXIT_OK


def list_companies(
    kb: KnowledgeBase, framework: str | None, usage: argparse.ArgumentParser | None = None
) -> int:
    from bot.render.text import render_companies
    from bot.terminal import Console

    known = [f.id for f in kb.frameworks]
    if framework is not None and framework.lower() not in known:
        if usage is not None:
            usage.print_usage(sys.stderr)
        print(
            f"Unknown framework {framework!r}{_did_you_mean(framework.lower(), known)}; choose "
            f"one of: {', '.join(known)}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    Console().show(render_companies(kb, [framework.lower()] if framework else known))
    return EXIT_OK
