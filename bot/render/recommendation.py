"""The recommendation: the framework, clear choice or close call, the reasons with their
weight, what you give up, what would change it, and teams that made the same choice; and the
lean read from a project description, which is never presented as a verdict."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.advisor import Contribution, Lean, Recommendation
from bot.knowledge import KnowledgeBase
from bot.knowledge import Option as KnowledgeOption
from bot.matching import ProjectReading, Signal
from bot.render.block_kit import (
    MAX_MESSAGE_BLOCKS,
    Message,
    bullets,
    button,
    context,
    escape,
    fit,
    framework_names,
    header,
    mention,
    notification,
    section,
    sources_context,
    table,
)
from bot.render.companies import company_line, company_link
from bot.render.feedback import FeedbackButtons, feedback_tail
from bot.render.questionnaire import start_block
from bot.render.score_table import score_table, text_table
from bot.slack.wire.ids import ActionId

MAX_LEAN_REASONS = 3
SCORE_TABLE_BLOCK_ID = "scores"


@dataclass(frozen=True)
class ResultButtons:
    """The buttons under a recommendation; each is the button's value, None to leave it out."""

    share_in_channel: str | None = None
    share_in_thread: str | None = None
    start_over: str | None = None


def _points(contribution: Contribution) -> str:
    points = abs(contribution.points)
    return f"+{points:g} point" if points == 1 else f"+{points:g} points"


def _verdict(rec: Recommendation) -> str:
    scores = " · ".join(f"{escape(s.framework.name)} {s.score:g}" for s in rec.scores)
    winner, runner_up = escape(rec.winner.name), escape(rec.runner_up.name)
    if rec.margin == 0:
        text = (
            f"*A close call:* {winner} and {runner_up} tie on your answers. {winner} is listed "
            "first, but either is a sound choice; the reasons below are what matter."
        )
    elif rec.verdict == "close":
        text = (
            f"*A close call:* {winner} leads {runner_up} by only {rec.margin:g}. "
            "Either would serve you; weigh the reasons below."
        )
    else:
        text = f"*A clear choice:* {winner} leads {runner_up} by {rec.margin:g} points."
    return f"{text}\n_Scores: {scores}_"


def _flip_text(rec: Recommendation) -> str:
    if rec.flip is None:
        return "*What would change it*\nNo single changed answer would change this recommendation."
    flip = rec.flip
    prompt, winner = escape(flip.question.prompt), escape(flip.new_winner.name)

    def labels(options: Iterable[KnowledgeOption]) -> str:
        return ", ".join(f"“{escape(option.label)}”" for option in options)

    if flip.question.kind == "multiple":
        added = [o for o in flip.alternative if o not in flip.current]
        removed = [o for o in flip.current if o not in flip.alternative]
        changes = [f"also chosen {labels(added)}"] if added else []
        changes += [f"not chosen {labels(removed)}"] if removed else []
        change = f"For “{prompt}”, if you had {' and '.join(changes)}"
    else:
        change = (
            f"If your answer to “{prompt}” were {labels(flip.alternative)} "
            f"instead of {labels(flip.current)}"
        )
    return f"*What would change it*\n{change}, {winner} would come out ahead."


def recommendation_message(
    kb: KnowledgeBase,
    rec: Recommendation,
    *,
    shared_by: str | None = None,
    buttons: ResultButtons | None = None,
    feedback: FeedbackButtons | None = None,
) -> Message:
    """The recommendation as a person should read it: a header naming the framework, clear choice
    or close call, the reasons with their weight, what you give up, what would change it, and
    companies that made the same choice, linked to their sources; then the result `buttons`
    and the `feedback` buttons, when given."""
    winner, runner_up = escape(rec.winner.name), escape(rec.runner_up.name)
    blocks: list[Block] = []
    if shared_by is not None:
        blocks.append(context(f"Shared by {mention(shared_by)}"))
    blocks.append(header(f"Recommendation: {rec.winner.name}"))
    blocks.append(section(_verdict(rec)))
    blocks.append(section(_flip_text(rec)))
    scores = score_table(kb, rec)
    if scores.rows:
        blocks.append(
            table(scores.header, scores.rows, numeric_from=2, block_id=SCORE_TABLE_BLOCK_ID)
        )
    if rec.reasons:
        reasons = [f"{c.option.reason} _({_points(c)})_" for c in rec.reasons]
        blocks.append(section(f"*Why {winner}*\n{bullets(reasons)}"))
    else:
        blocks.append(section(f"*Why {winner}*\nNone of your answers leaned strongly either way."))
    if rec.against:
        against = [f"{c.option.reason} _({_points(c)})_" for c in rec.against]
        blocks.append(section(f"*What pointed to {runner_up}*\n{bullets(against)}"))
    if rec.give_up:
        blocks.append(
            section(f"*What you give up by not choosing {runner_up}*\n{bullets(rec.give_up)}")
        )
    if rec.companies:
        lines = [company_line(kb, company) for company in rec.companies]
        blocks.append(section(f"*Teams that chose {winner}*\n{bullets(lines)}"))
    sources = [
        *kb.sources_for(rec.winner.sources),
        *(kb.source(source_id) for c in rec.companies for source_id in c.sources),
    ]
    blocks.append(sources_context(sources))
    tail: list[Block] = []
    actions = _result_actions(buttons) if buttons is not None else None
    if actions is not None:
        tail.append(actions)
    if feedback is not None:
        tail.extend(feedback_tail(feedback))
    verdict = "a clear choice" if rec.verdict == "clear" else "a close call"
    text = "\n".join(
        [
            f"Recommendation: {rec.winner.name} ({verdict} over {rec.runner_up.name})",
            *text_table(scores),
        ]
    )
    fitted = fit([*blocks, *tail], MAX_MESSAGE_BLOCKS, keep_last=len(tail) + 1)
    return Message(notification(text), fitted)


def _result_actions(buttons: ResultButtons) -> ActionsBlock | None:
    elements = []
    if buttons.share_in_channel is not None:
        elements.append(
            button(
                ActionId.SHARE_IN_CHANNEL, "Share in channel", buttons.share_in_channel, "primary"
            )
        )
    if buttons.share_in_thread is not None:
        elements.append(
            button(ActionId.SHARE_IN_THREAD, "Share in thread", buttons.share_in_thread)
        )
    if buttons.start_over is not None:
        elements.append(button(ActionId.START_OVER, "Start over", buttons.start_over))
    return ActionsBlock(block_id="result_actions", elements=elements) if elements else None


def _read_line(signal: Signal) -> str:
    return f"{escape(signal.option.label)} (you said “{escape(signal.phrase)}”)"


def project_message(
    kb: KnowledgeBase, reading: ProjectReading, leaning: Lean, finish_value: str
) -> Message:
    """The reply to a project description: what was read from it, which way it leans and why,
    what it could not tell, and "Finish the questionnaire" with those answers chosen. A lean is
    never presented as a verdict: the questionnaire has questions the message did not answer."""
    read = len(leaning.answers)
    total = len(kb.questionnaire.questions)
    if leaning.leader is None:
        headline = (
            f"From what you describe, {framework_names(kb)} fit equally well so far "
            f"({read} of {total} questions answered)."
        )
        title = "No lean yet"
    else:
        name = escape(leaning.leader.name)
        headline = (
            f"From what you describe, this *leans {name}*. It's a lean from {read} of "
            f"{total} questions, not a verdict: the rest could change it."
        )
        title = f"Leaning {leaning.leader.name}"
    blocks: list[Block] = [header(title), section(headline)]
    blocks.append(section("*You mentioned:*\n" + bullets(_read_line(s) for s in reading.signals)))
    if leaning.reasons:
        why = bullets(escape(c.option.reason) for c in leaning.reasons[:MAX_LEAN_REASONS])
        blocks.append(section(f"*Why:*\n{why}"))
    if leaning.against:
        other = bullets(escape(c.option.reason) for c in leaning.against[:MAX_LEAN_REASONS])
        blocks.append(section(f"*On the other side:*\n{other}"))
    if leaning.unanswered:
        unknown = bullets(escape(q.prompt) for q in leaning.unanswered)
        blocks.append(section(f"*What I couldn't tell:*\n{unknown}"))
    if leaning.companies and leaning.leader is not None:
        names = ", ".join(company_link(kb, company) for company in leaning.companies)
        blocks.append(context(f"Teams that chose {escape(leaning.leader.name)}: {names}"))
    blocks.append(start_block("Finish the questionnaire", finish_value))
    text = f"{title}: {', '.join(s.option.label for s in reading.signals)}"
    return Message(notification(text), fit(blocks, MAX_MESSAGE_BLOCKS))
