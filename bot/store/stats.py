"""What curators see: usage, answer quality and unanswered questions of one workspace over a
period, and CSV exports for working on the knowledge."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select

from bot.exports import ExportKind
from bot.store.reasons import Complaint, current_note, current_reason, most_complained
from bot.store.schema import decisions, feedback, questions, recommendations


@dataclass(frozen=True)
class EntryCount:
    entry_id: str
    count: int


@dataclass(frozen=True)
class HelpfulRate:
    """Votes on one knowledge entry (target_kind "entry") or on recommendations of one
    framework (target_kind "recommendation")."""

    target_kind: str
    target_id: str
    helpful: int
    not_helpful: int

    @property
    def votes(self) -> int:
        return self.helpful + self.not_helpful

    @property
    def rate(self) -> float:
        """Share of helpful votes, 0.0 to 1.0."""
        return self.helpful / self.votes if self.votes else 0.0


@dataclass(frozen=True)
class UnansweredQuestion:
    text: str
    """The question folded (lower case, no punctuation, no Slack markup, so it is safe to
    echo); wordings that fold alike are counted together."""
    count: int
    last_asked: datetime


@dataclass(frozen=True)
class RecommendationOutcome:
    framework_id: str
    verdict: str
    count: int


@dataclass(frozen=True)
class DecisionOutcome:
    status: str
    """"open" or "closed"."""
    framework_id: str | None
    """The chosen framework of a closed decision."""
    count: int


@dataclass(frozen=True)
class Stats:
    """One workspace over [since, until)."""

    team_id: str
    since: datetime
    until: datetime
    questions: int
    answered: int
    not_sure: int
    top_entries: tuple[EntryCount, ...]
    """Most asked entries first."""
    helpful: tuple[HelpfulRate, ...]
    """Per voted target, most voted first."""
    unanswered: tuple[UnansweredQuestion, ...]
    """Most frequent first; questions whose text was purged are not listed."""
    recommendations: tuple[RecommendationOutcome, ...]
    """Per framework and verdict, most frequent first."""
    complaints: tuple[Complaint, ...] = ()
    """The answers and recommendations with the most 👎, with their reasons."""
    decisions: tuple[DecisionOutcome, ...] = ()
    """Team decisions started in the period, by status and chosen framework."""

    @property
    def decision_count(self) -> int:
        return sum(outcome.count for outcome in self.decisions)

    @property
    def open_decisions(self) -> int:
        return sum(outcome.count for outcome in self.decisions if outcome.status == "open")

    @property
    def decisions_by_framework(self) -> dict[str, int]:
        """Closed decisions per chosen framework, most first."""
        return _totals(
            (outcome.framework_id, outcome.count)
            for outcome in self.decisions
            if outcome.status == "closed" and outcome.framework_id is not None
        )

    @property
    def recommendations_by_framework(self) -> dict[str, int]:
        return _totals((outcome.framework_id, outcome.count) for outcome in self.recommendations)

    @property
    def recommendations_by_verdict(self) -> dict[str, int]:
        return _totals((outcome.verdict, outcome.count) for outcome in self.recommendations)

    @property
    def recommendation_count(self) -> int:
        return sum(outcome.count for outcome in self.recommendations)


def _totals(pairs: Iterable[tuple[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for key, count in pairs:
        totals[key] = totals.get(key, 0) + count
    return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))


def compute_stats(
    connection: Connection, team_id: str, since: datetime, until: datetime, limit: int
) -> Stats:
    asked = (
        questions.c.team_id == team_id,
        questions.c.asked_at >= since,
        questions.c.asked_at < until,
    )
    total, answered = connection.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((questions.c.entry_id.is_not(None), 1), else_=0)), 0),
        ).where(*asked)
    ).one()

    entry_count = func.count().label("n")
    top_entries = connection.execute(
        select(questions.c.entry_id, entry_count)
        .where(*asked, questions.c.entry_id.is_not(None))
        .group_by(questions.c.entry_id)
        .order_by(entry_count.desc(), questions.c.entry_id)
        .limit(limit)
    ).all()

    helpful_votes = func.sum(case((feedback.c.helpful, 1), else_=0)).label("helpful")
    all_votes = func.count().label("votes")
    helpful = connection.execute(
        select(feedback.c.target_kind, feedback.c.target_id, helpful_votes, all_votes)
        .where(
            feedback.c.team_id == team_id,
            feedback.c.voted_at >= since,
            feedback.c.voted_at < until,
        )
        .group_by(feedback.c.target_kind, feedback.c.target_id)
        .order_by(all_votes.desc(), feedback.c.target_kind, feedback.c.target_id)
    ).all()

    times_asked = func.count().label("n")
    last_asked = func.max(questions.c.asked_at).label("last_asked")
    unanswered = connection.execute(
        select(questions.c.normalized, times_asked, last_asked)
        .where(
            *asked,
            questions.c.entry_id.is_(None),
            questions.c.normalized.is_not(None),
            questions.c.normalized != "",
        )
        .group_by(questions.c.normalized)
        .order_by(times_asked.desc(), last_asked.desc(), questions.c.normalized)
        .limit(limit)
    ).all()

    outcome_count = func.count().label("n")
    outcomes = connection.execute(
        select(recommendations.c.framework_id, recommendations.c.verdict, outcome_count)
        .where(
            recommendations.c.team_id == team_id,
            recommendations.c.recommended_at >= since,
            recommendations.c.recommended_at < until,
        )
        .group_by(recommendations.c.framework_id, recommendations.c.verdict)
        .order_by(outcome_count.desc(), recommendations.c.framework_id, recommendations.c.verdict)
    ).all()

    return Stats(
        team_id=team_id,
        since=since,
        until=until,
        questions=total,
        answered=answered,
        not_sure=total - answered,
        top_entries=tuple(EntryCount(entry_id, count) for entry_id, count in top_entries),
        helpful=tuple(
            HelpfulRate(kind, target, helpful=yes, not_helpful=votes - yes)
            for kind, target, yes, votes in helpful
        ),
        unanswered=tuple(UnansweredQuestion(text, count, when) for text, count, when in unanswered),
        recommendations=tuple(
            RecommendationOutcome(framework, verdict, count)
            for framework, verdict, count in outcomes
        ),
        complaints=most_complained(connection, team_id, since, until, limit),
        decisions=tuple(
            DecisionOutcome(status, framework, count)
            for status, framework, count in connection.execute(
                select(decisions.c.status, decisions.c.framework_id, func.count())
                .where(
                    decisions.c.team_id == team_id,
                    decisions.c.created_at >= since,
                    decisions.c.created_at < until,
                )
                .group_by(decisions.c.status, decisions.c.framework_id)
                .order_by(func.count().desc(), decisions.c.status)
            ).all()
        ),
    )


FEEDBACK_COLUMNS = (
    "voted_at",
    "team_id",
    "user_id",
    "message_key",
    "target_kind",
    "target_id",
    "helpful",
    "question",
    "reason",
    "reason_note",
    "question_uid",
    "recommendation_uid",
)
"""The uids join a vote to the stored question or recommendation (and to the message's
metadata, which names them); empty for votes stored before migrations 0007 and 0008."""
UNANSWERED_COLUMNS = (
    "asked_at",
    "team_id",
    "channel_id",
    "user_id",
    "question",
    "closest_topics",
    "question_uid",
)


def export_csv(
    connection: Connection, what: ExportKind, team_id: str | None, since: datetime | None
) -> str:
    """CSV with a header row, oldest first. Unanswered questions whose text was purged are
    left out. Question texts that a spreadsheet would run as a formula are quoted with '."""
    if what == "feedback":
        table, time_column = feedback, feedback.c.voted_at
        header: Sequence[str] = FEEDBACK_COLUMNS
        query = select(
            *(feedback.c[name] for name in FEEDBACK_COLUMNS[:-4]),
            current_reason(),
            current_note(),
            feedback.c.question_uid,
            feedback.c.recommendation_uid,
        )
    else:
        table, time_column = questions, questions.c.asked_at
        header = UNANSWERED_COLUMNS
        query = select(
            questions.c.asked_at,
            questions.c.team_id,
            questions.c.channel_id,
            questions.c.user_id,
            questions.c.text,
            questions.c.closest,
            questions.c.uid,
        ).where(questions.c.entry_id.is_(None), questions.c.text.is_not(None))
    if team_id is not None:
        query = query.where(table.c.team_id == team_id)
    if since is not None:
        query = query.where(time_column >= since)
    query = query.order_by(time_column, table.c.id)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in connection.execute(query):
        writer.writerow(_feedback_cells(row) if what == "feedback" else _unanswered_cells(row))
    return out.getvalue()


def _feedback_cells(row: Any) -> list[str]:
    (
        voted_at,
        team,
        user,
        key,
        kind,
        target,
        helpful,
        question,
        reason,
        note,
        question_uid,
        recommendation_uid,
    ) = row
    return [
        voted_at.isoformat(),
        team,
        user,
        key,
        kind,
        target,
        "true" if helpful else "false",
        _safe_cell(question or ""),
        reason or "",
        _safe_cell(note or ""),
        question_uid or "",
        recommendation_uid or "",
    ]


def _unanswered_cells(row: Any) -> list[str]:
    asked_at, team, channel, user, text, closest, uid = row
    topics = "; ".join(f"{item['entry_id']}:{item['score']:.2f}" for item in closest or [])
    return [
        asked_at.isoformat(),
        team,
        channel or "",
        user or "",
        _safe_cell(text),
        topics,
        uid or "",
    ]


def _safe_cell(text: str) -> str:
    """Text from Slack users, defused for spreadsheets (CSV formula injection)."""
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text
