"""Block Kit for a team decision: the decision message (updated in place after every answer,
then closed) and the questionnaire modal as "Add my answers" shows it.

Built with slack_sdk.models, from the team result of bot/team.py. One person's answers are
never shown as the team's verdict, and every question the team answered differently says who
chose what and what agreeing on it would do. State that travels with the buttons and the
modal arrives here as opaque strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    MarkdownBlock,
    PlainTextObject,
)
from slack_sdk.models.views import View

from bot.knowledge import KnowledgeBase, Option
from bot.render.block_kit import (
    MAX_MESSAGE_BLOCKS,
    Message,
    bullets,
    context,
    escape,
    header,
    link,
    mention,
    section,
    truncate,
)
from bot.render.companies import company_link
from bot.render.questionnaire import questionnaire_view
from bot.slack.wire.ids import DecisionActionId
from bot.team import Agreement, Standing, TeamRecommendation

MAX_DISAGREEMENTS_SHOWN = 10
MAX_REASONS_SHOWN = 3
MAX_TITLE = 140
MAX_BUTTON_TEXT = 75
MAX_VIEW_TITLE = 24
NAVIGATION_BLOCK_ID = "navigation"
MAX_MARKDOWN_BLOCK = 12_000
"""Slack's limit on the text of markdown blocks in one message."""


@dataclass(frozen=True)
class DecisionView:
    """What the decision message shows besides the team result."""

    title: str
    started_by: str
    button_value: str
    """The opaque value of Add my answers and Close and record."""


def _button(
    action_id: str,
    label: str,
    value: str,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(
        action_id=action_id,
        text=PlainTextObject(text=truncate(label, MAX_BUTTON_TEXT), emoji=True),
        value=value,
        style=style,
        confirm=confirm,
    )


def people(user_ids: Iterable[str]) -> str:
    return ", ".join(mention(user) for user in user_ids)


def _labels(options: Sequence[Option]) -> str:
    return " + ".join(f"“{escape(option.label)}”" for option in options)


def outcome_phrase(standing: Standing, current_winner: str) -> str:
    """ "Django would win clearly (by 8)" (or "would still win", when it wins now too)."""
    winner = escape(standing.winner.name)
    still = " still" if standing.winner.id == current_winner else ""
    if standing.tied:
        return f"{winner} and {escape(standing.runner_up.name)} would tie"
    if standing.verdict == "clear":
        return f"{winner} would{still} win clearly (by {standing.margin:g})"
    return f"{winner} would{still} lead by only {standing.margin:g}, a close call"


def agreement_line(agreement: Agreement, current_winner: str) -> str:
    """What agreeing on one answer would do, under the question it belongs to."""
    return (
        f"If you all chose {_labels(agreement.options)}: "
        f"{outcome_phrase(agreement.standing, current_winner)}."
    )


def _verdict_text(team: TeamRecommendation) -> str:
    standing = team.standing
    winner, runner_up = escape(team.winner.name), escape(team.runner_up.name)
    scores = " · ".join(f"{escape(s.framework.name)} {s.score:g}" for s in standing.scores)
    if team.single_voice:
        (only,) = team.people
        return (
            f"*Only {mention(only)} has answered so far*, so this is one person's view, not the "
            f"team's: their answers lean {winner}. Ask the others to add theirs.\n"
            f"_Scores: {scores}_"
        )
    count = len(team.people)
    if standing.tied:
        text = f"*A close call:* on {count} people's answers {winner} and {runner_up} tie."
    elif standing.verdict == "close":
        text = (
            f"*A close call:* on {count} people's answers {winner} leads {runner_up} by only "
            f"{standing.margin:g}."
        )
    else:
        text = (
            f"*A clear choice:* on {count} people's answers {winner} leads {runner_up} by "
            f"{standing.margin:g} points."
        )
    return f"{text}\n_Combined scores: {scores}_"


def _disagreement_blocks(team: TeamRecommendation) -> list[Block]:
    if team.single_voice:
        return []
    if not team.disagreements:
        return [section("*Where you disagree*\nNowhere: everyone gave the same answers.")]
    blocks: list[Block] = [
        section(f"*Where you disagree* ({len(team.disagreements)} questions, most telling first)")
    ]
    for disagreement in team.disagreements[:MAX_DISAGREEMENTS_SHOWN]:
        who = bullets(
            f"{_labels(group.options)}: {people(group.people)}" for group in disagreement.groups
        )
        moves = [agreement_line(a, team.winner.id) for a in disagreement.agreements]
        tie = (
            " _(tied: the tied answers share its weight)_"
            if disagreement.question in team.ties
            else ""
        )
        blocks.append(
            section(
                f"*{escape(disagreement.question.prompt)}*{tie}\n{who}\n"
                + "\n".join(f"_{line}_" for line in moves)
            )
        )
    left = len(team.disagreements) - MAX_DISAGREEMENTS_SHOWN
    if left > 0:
        blocks.append(context(f"…and {left} more questions where answers differ."))
    return blocks


def _reasons_block(team: TeamRecommendation) -> Block:
    winner = escape(team.winner.name)
    if not team.reasons:
        return section(f"*Why {winner}*\nNo answer leaned strongly either way.")
    lines = [
        f"{reason.option.reason} _({len(reason.people)} of {len(team.people)})_"
        for reason in team.reasons[:MAX_REASONS_SHOWN]
    ]
    return section(f"*Why {winner}*\n{bullets(lines)}")


def _change_block(team: TeamRecommendation) -> Block | None:
    if team.single_voice:
        return None
    if team.turning_point is not None:
        question, agreement = team.turning_point
        return section(
            f"*What would change it*\nOn “{escape(question.prompt)}”: "
            f"{agreement_line(agreement, team.winner.id)}"
        )
    if team.flip is not None:
        flip = team.flip
        return section(
            "*What would change it*\nNo agreement on a question you differ on would. If the "
            f"team's answer to “{escape(flip.question.prompt)}” were "
            f"{_labels(flip.alternative)}, {escape(flip.new_winner.name)} would come out ahead."
        )
    return section("*What would change it*\nNo single changed answer would change this result.")


def _fit(blocks: list[Block], tail: list[Block]) -> tuple[Block, ...]:
    room = MAX_MESSAGE_BLOCKS - len(tail)
    if len(blocks) > room:
        blocks = [*blocks[: room - 1], context("(Shortened to fit in Slack.)")]
    return (*blocks, *tail)


def decision_message(
    kb: KnowledgeBase, view: DecisionView, team: TeamRecommendation | None
) -> Message:
    """The open decision: who started it, who has answered, the combined lean, where people
    disagree and what agreeing would change, and the Add my answers / Close and record
    buttons. `team` is None while nobody has answered."""
    rule = kb.questionnaire.team
    blocks: list[Block] = [
        header(f"Team decision: {truncate(view.title, MAX_TITLE)}"),
        context(
            f"Started by {mention(view.started_by)}"
            + (f" · *How answers combine:* {rule.explanation}" if rule else "")
        ),
    ]
    if team is None:
        blocks.append(
            section(
                "*Nobody has answered yet.* Each of you: press *Add my answers* and answer the "
                f"{len(kb.questionnaire.questions)} questions; this message shows where you "
                "agree, where you differ, and what would change the result."
            )
        )
        text = f"Team decision: {view.title} (no answers yet)"
    else:
        count = len(team.people)
        blocks.append(
            section(f"*{count} {'person has' if count == 1 else 'people have'} answered:* "
                    f"{people(team.people)}")
        )  # fmt: skip
        blocks.append(section(_verdict_text(team)))
        blocks.extend(_disagreement_blocks(team))
        blocks.append(_reasons_block(team))
        change = _change_block(team)
        if change is not None:
            blocks.append(change)
        if team.companies:
            names = ", ".join(company_link(kb, company) for company in team.companies)
            blocks.append(context(f"Teams that chose {escape(team.winner.name)}: {names}"))
        lean = "leans" if team.single_voice else "is leaning"
        text = f"Team decision: {view.title} ({count} answered; {lean} {team.winner.name})"
    confirm = ConfirmObject(
        title="Close this decision?",
        text="Nobody can add or change answers after this; the decision record is written.",
        confirm="Close and record",
        deny="Not yet",
    )
    tail: list[Block] = [
        ActionsBlock(
            block_id="decision_actions",
            elements=[
                _button(
                    DecisionActionId.ADD_ANSWERS, "Add my answers", view.button_value, "primary"
                ),
                _button(
                    DecisionActionId.CLOSE, "Close and record", view.button_value, confirm=confirm
                ),
            ],
        ),
        context("Answered already? *Add my answers* again to change them."),
    ]
    return Message(truncate(text, 3000), _fit(blocks, tail))


def record_sentence(decision_id: int, where: str | None, url: str | None) -> str:
    """Where the decision record is, as the closed decision message says it."""
    if where == "canvas":
        return (
            f"The decision record is {link(url, 'in this canvas')}."
            if url
            else "The decision record is in this channel's canvases."
        )
    if where == "thread":
        return "Canvases aren't available here, so the decision record is posted in this thread."
    if where == "nowhere":
        return (
            "I couldn't put the decision record in this channel; it can be exported with "
            f"`framework-bot decision export {decision_id} --format md`."
        )
    return "The decision record is being written."


def closed_decision_message(
    kb: KnowledgeBase,
    view: DecisionView,
    team: TeamRecommendation,
    *,
    decision_id: int,
    closed_by: str,
    record_where: str | None,
    record_url: str | None,
) -> Message:
    """The decision once closed: the outcome, who decided, and where the record is."""
    winner = escape(team.winner.name)
    verdict = "a clear choice" if team.standing.verdict == "clear" else "a close call"
    blocks: list[Block] = [
        header(f"Decided: {team.winner.name} for {truncate(view.title, MAX_TITLE)}"),
        section(
            f"*Chosen option: {winner}* ({verdict}, from {len(team.people)} "
            f"{'person' if len(team.people) == 1 else 'people'}'s answers: "
            f"{people(team.people)}).\nClosed by {mention(closed_by)}; started by "
            f"{mention(view.started_by)}."
        ),
        section(record_sentence(decision_id, record_where, record_url)),
    ]
    if team.disagreements:
        questions = ", ".join(f"“{escape(d.question.prompt)}”" for d in team.disagreements[:5])
        blocks.append(context(f"Where the team differed: {questions}"))
    text = f"Decided: {team.winner.name} for {view.title}"
    return Message(truncate(text, 3000), _fit(blocks, []))


def answers_view(
    kb: KnowledgeBase,
    step: int,
    answers: Mapping[str, Sequence[str]],
    private_metadata: str,
    callback_id: str,
    title: str,
) -> View:
    """The questionnaire modal for one person's answers to a decision: the questionnaire's own
    steps, with this decision's title, its own Back button, and "Submit my answers" last."""
    view = questionnaire_view(kb.questionnaire, step, answers, private_metadata, callback_id)
    blocks: list[Block] = [context(f"Your answers to *{escape(truncate(title, MAX_TITLE))}*")]
    for block in view.blocks or []:
        if isinstance(block, ActionsBlock) and block.block_id == NAVIGATION_BLOCK_ID:
            block = ActionsBlock(
                block_id=NAVIGATION_BLOCK_ID,
                elements=[_button(DecisionActionId.BACK, "Back", str(step))],
            )
        blocks.append(block)
    view.blocks = blocks
    if step == len(kb.questionnaire.questions) - 1:
        view.submit = PlainTextObject(text="Submit my answers", emoji=True)
    view.title = PlainTextObject(text=truncate("Team decision", MAX_VIEW_TITLE), emoji=True)
    return view


def record_messages(markdown: str, note: str) -> list[Message]:
    """The decision record as messages of markdown blocks (where canvases are not available):
    the note first, then the record cut at line ends to fit each message."""
    chunks: list[str] = []
    current = ""
    for line in markdown.splitlines(keepends=True):
        if len(current) + len(line) > MAX_MARKDOWN_BLOCK - 1000 and current:
            chunks.append(current)
            current = ""
        current += line[: MAX_MARKDOWN_BLOCK - 1000]
    if current:
        chunks.append(current)
    messages = []
    for index, chunk in enumerate(chunks):
        blocks: list[Block] = [context(note)] if index == 0 else []
        blocks.append(MarkdownBlock(text=chunk))
        messages.append(Message(truncate(note if index == 0 else chunk, 3000), tuple(blocks)))
    return messages
