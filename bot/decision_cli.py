"""`framework-bot decision list|show|export`: team decisions from the store, in the terminal.

The record is the one the Slack app writes into the channel's canvas, with people named as
they were in Slack when they answered (their ids once the retention period removed names).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.cli import EXIT_ERROR, EXIT_OK, _nothing_stored, _open_store, _where
from bot.knowledge import KnowledgeBase
from bot.render.adr import RecordDetails, adr_markdown, plain, record_file_name
from bot.settings import Settings
from bot.store import Store, StoreUnavailable
from bot.store.decisions import Decision, DecisionNotFound, DecisionStore
from bot.team import TeamRecommendation, decide_fitting


def _title(decision: Decision) -> str:
    return decision.title or f"Decision {decision.id}"


def _team(kb: KnowledgeBase, decision: Decision) -> TeamRecommendation | None:
    team, left_out = decide_fitting(kb, decision.ballots())
    if left_out:
        names = decision.names()
        print(
            f"note: the answers of {', '.join(names[p] for p in left_out)} no longer fit the "
            "questionnaire (the knowledge changed since) and are left out.",
            file=sys.stderr,
        )
    return team


def _outcome(kb: KnowledgeBase, decision: Decision, team: TeamRecommendation | None) -> str:
    if not decision.is_open and decision.framework_id:
        name = next((f.name for f in kb.frameworks if f.id == decision.framework_id), None)
        return f"decided: {name or decision.framework_id} ({decision.verdict} choice)"
    if team is None:
        return "no answers yet"
    return f"leaning {team.winner.name} ({team.standing.verdict})"


def _run(settings: Settings, work: Callable[[Store], int]) -> int:
    store = _open_store(settings)
    if store is None:
        _nothing_stored(settings)
        return EXIT_OK
    try:
        result: int = work(store)
        return result
    except StoreUnavailable as error:
        print(f"framework-bot decision: the database is unavailable: {error}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        store.close()


def list_decisions(kb: KnowledgeBase, settings: Settings, team_id: str | None) -> int:
    def work(store: Store) -> int:
        decisions = DecisionStore(store.engine).list(team_id)
        if not decisions:
            where = f" for workspace {team_id}" if team_id else ""
            print(
                f"No team decisions are stored{where} in {_where(settings)}. Start one in "
                "Slack with `/framework decide TITLE`."
            )
            return EXIT_OK
        for decision in decisions:
            team = _team(kb, decision)
            print(
                f"#{decision.id}  {decision.status:<6}  {decision.created_at:%Y-%m-%d}  "
                f"{decision.team_id}  {_title(decision)}  ({len(decision.answers)} answered; "
                f"{_outcome(kb, decision, team)})"
            )
        closed = [d for d in decisions if not d.is_open]
        print(
            f"{len(decisions)} decisions: {len(decisions) - len(closed)} open, {len(closed)} closed"
        )
        return EXIT_OK

    return _run(settings, work)


def _record(kb: KnowledgeBase, decision: Decision, team: TeamRecommendation) -> str:
    names = decision.names()
    when = decision.closed_at or decision.updated_at or datetime.now(UTC)
    details = RecordDetails(
        decision_id=decision.id,
        title=_title(decision),
        status="proposed" if decision.is_open else "accepted",
        date=when.date(),
        permalink=None,
        knowledge_version=decision.knowledge_version,
    )
    return adr_markdown(kb, details, team, lambda user: plain(names.get(user, user)))


def _find(store: Store, decision_id: int, settings: Settings) -> Decision | None:
    try:
        return DecisionStore(store.engine).get(decision_id)
    except DecisionNotFound:
        print(
            f"framework-bot decision: there is no decision #{decision_id} in "
            f"{_where(settings)}; `framework-bot decision list` shows the decisions there are.",
            file=sys.stderr,
        )
        return None


def show_decision(kb: KnowledgeBase, settings: Settings, decision_id: int) -> int:
    def work(store: Store) -> int:
        decision = _find(store, decision_id, settings)
        if decision is None:
            return EXIT_ERROR
        team = _team(kb, decision)
        names = decision.names()
        print(f"Decision #{decision.id}: {_title(decision)}")
        print(f"  status: {decision.status}; {_outcome(kb, decision, team)}")
        print(f"  workspace {decision.team_id}, channel {decision.channel_id}")
        print(f"  started by {names.get(decision.started_by, decision.started_by)}")
        answered = ", ".join(names[p] for p in decision.ballots()) or "nobody yet"
        print(f"  answered: {answered}")
        if decision.record_url:
            print(f"  record: {decision.record_url}")
        if team is None:
            return EXIT_OK
        print()
        print(_record(kb, decision, team), end="")
        return EXIT_OK

    return _run(settings, work)


def export_decision(
    kb: KnowledgeBase, settings: Settings, decision_id: int, output: Path | None
) -> int:
    def work(store: Store) -> int:
        decision = _find(store, decision_id, settings)
        if decision is None:
            return EXIT_ERROR
        team = _team(kb, decision)
        if team is None:
            print(
                f"framework-bot decision export: nobody has answered decision #{decision_id} "
                "yet, so there is no record to write. Answer it in Slack (Add my answers).",
                file=sys.stderr,
            )
            return EXIT_ERROR
        record = _record(kb, decision, team)
        if output is None:
            print(record, end="")
            return EXIT_OK
        path = (
            output / record_file_name(decision.id, _title(decision)) if output.is_dir() else output
        )
        try:
            path.write_text(record, encoding="utf-8")
        except OSError as error:
            print(f"framework-bot decision export: cannot write {path}: {error}", file=sys.stderr)
            return EXIT_ERROR
        print(f"Wrote {path}", file=sys.stderr)
        return EXIT_OK

    return _run(settings, work)
