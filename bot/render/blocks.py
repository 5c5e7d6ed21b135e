"""Block Kit for every message, modal and Home tab the Slack app sends.

Everything is built with slack_sdk.models classes, so `to_dict()` validates the structure, and
every text is cut to Slack's limits here (Block Kit reference), never by the listeners. Text
typed by a user is escaped before it is shown, so it cannot ping (`<!channel>`) or inject
links. Knowledge fields that are mrkdwn by design (answers, reasons, company uses) are passed
through; names, titles, labels and prompts are plain text and are escaped.

This module knows nothing about Slack requests: state that must travel with a button or a modal
(`value`, `private_metadata`) arrives as an opaque string from the caller.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.advisor import Contribution, Lean, Recommendation
from bot.knowledge import (
    REPLY_PLACEHOLDERS,
    Company,
    Entry,
    Framework,
    Intent,
    KnowledgeBase,
    Question,
    Questionnaire,
    Source,
    fill_commands,
)
from bot.knowledge import Option as KnowledgeOption
from bot.matching import MatchResult, ProjectReading, Signal

# Slack's limits (https://api.slack.com/reference/block-kit). slack_sdk checks most of them at
# to_dict(); the builders stay under all of them so that nothing a person triggers can make
# Slack refuse a message.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_TEXT = 2000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_OPTION_TEXT = 75
MAX_INPUT_LABEL = 2000
MAX_VIEW_TITLE = 24
MAX_PRIVATE_METADATA = 3000
MAX_MESSAGE_TEXT = 40_000
MAX_RADIO_OPTIONS = 10
MAX_SELECT_OPTIONS = 100
MAX_QUESTION_ECHO = 300
"""How much of a person's question is quoted back in a "not sure" reply."""

MAX_SUGGESTIONS = 3
MAX_LEAN_REASONS = 3
HOME_EXAMPLES = 5

ELLIPSIS = "…"

APP_NAME = "Framework Advisor"
COMMAND = "/framework"
"""The slash command (manifest.yml), named in replies; the listeners register this one."""
QUESTIONNAIRE_TITLE = "Framework Advisor"


class ActionId(StrEnum):
    """The action_id of every interactive element the app sends."""

    START_QUESTIONNAIRE = "start_questionnaire"
    QUESTIONNAIRE_BACK = "questionnaire_back"
    QUESTIONNAIRE_CHOICE = "questionnaire_choice"
    SHARE_IN_CHANNEL = "share_in_channel"
    SHARE_IN_THREAD = "share_in_thread"
    START_OVER = "start_over"
    ANSWER_TOPIC = "answer_topic"
    """Prefix: the suggestion buttons of one message are answer_topic_0, _1, … (action_ids
    must be unique within a block)."""
    FEEDBACK_HELPFUL = "feedback_helpful"
    FEEDBACK_NOT_HELPFUL = "feedback_not_helpful"


ANSWER_TOPIC_PATTERN = re.compile(rf"^{ActionId.ANSWER_TOPIC.value}_\d+$")
FEEDBACK_BLOCK_ID = "feedback"
QUESTION_BLOCK_PREFIX = "question_"
"""Each questionnaire step's input block is question_<question id>: a distinct block_id per
question, so Slack does not carry one step's selection over into the next."""


@dataclass(frozen=True)
class Message:
    """A message ready to send: `text` is the notification and screen-reader fallback.

    `rendered` is the JSON of the first blocks when it was made (and validated) before, as for
    the body of an answer, which is the same every time its entry is the answer."""

    text: str
    blocks: tuple[Block, ...]
    rendered: tuple[dict[str, Any], ...] = field(default=(), compare=False, repr=False)

    def blocks_json(self) -> list[dict[str, Any]]:
        """The blocks as Slack JSON; to_dict() also validates them against slack_sdk's rules.
        The dicts of `rendered` are shared: send them, never change them."""
        done = len(self.rendered)
        return [*self.rendered, *(block.to_dict() for block in self.blocks[done:])]


class AnswerBodies:
    """The blocks of each answer's body and their JSON, for one knowledge base, each rendered
    (and validated) the first time its entry is the answer. The live knowledge keeps one with
    each snapshot, so a reload starts afresh and the old bodies go with the old snapshot."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._bodies: dict[str, tuple[tuple[Block, ...], tuple[dict[str, Any], ...]]] = {}
        self._lock = threading.Lock()

    def get(self, entry: Entry) -> tuple[tuple[Block, ...], tuple[dict[str, Any], ...]]:
        with self._lock:
            found = self._bodies.get(entry.id)
        if found is not None:
            return found
        blocks = _answer_body(self.kb, entry)
        made = (blocks, tuple(block.to_dict() for block in blocks))
        with self._lock:
            return self._bodies.setdefault(entry.id, made)


def _answer_body(kb: KnowledgeBase, entry: Entry) -> tuple[Block, ...]:
    blocks: list[Block] = [section(f"*{escape(entry.title)}*\n{entry.answer}")]
    if entry.caveat:
        blocks.append(context(f"*Note:* {entry.caveat}"))
    blocks.append(_sources_context(kb.sources_for(entry.sources)))
    return tuple(blocks)


@dataclass(frozen=True)
class ResultButtons:
    """The buttons under a recommendation; each is the button's value, None to leave it out."""

    share_in_channel: str | None = None
    share_in_thread: str | None = None
    start_over: str | None = None


@dataclass(frozen=True)
class FeedbackButtons:
    """The "Helpful" / "Not helpful" buttons under an answer or a recommendation.

    `value` is the buttons' opaque value (both carry the same one). Once someone voted,
    `helpful` is their vote (that button is highlighted) and `voter` who they are: the message
    then thanks them and says how to change the vote.
    """

    value: str
    helpful: bool | None = None
    voter: str | None = None


# --- text helpers -------------------------------------------------------------------------------

_OPEN_TOKEN = re.compile(r"<[^>]*$")
_OPEN_ENTITY = re.compile(r"&[#a-zA-Z0-9]{0,8}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters with an ellipsis, never inside a `<link|label>`
    or `<@U…>` token or an `&amp;` entity, so a cut can neither break markup nor create it."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(ELLIPSIS), 0)]
    cut = _OPEN_TOKEN.sub("", cut)
    cut = _OPEN_ENTITY.sub("", cut)
    return cut.rstrip() + ELLIPSIS


def link(url: str, label: str) -> str:
    """A mrkdwn link whose label is escaped and whose URL cannot close the token early."""
    safe_url = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe_url}|{escape(label)}>"


def quote_user_text(text: str, limit: int = MAX_QUESTION_ECHO) -> str:
    """A person's text, escaped and shortened, for echoing inside a message."""
    return escape(truncate(" ".join(text.split()), limit))


def mention(user_id: str) -> str:
    """`<@U123>` for a real Slack user id; anything else is shown as escaped text."""
    return f"<@{user_id}>" if _USER_ID.match(user_id) else escape(user_id)


def _plain(text: str, limit: int) -> PlainTextObject:
    return PlainTextObject(text=truncate(text, limit), emoji=True)


def _mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> MarkdownTextObject:
    return MarkdownTextObject(text=truncate(text, limit))


def section(text: str) -> SectionBlock:
    """A mrkdwn section (`text` already escaped where it came from a user), cut to the limit."""
    return SectionBlock(text=_mrkdwn(text))


def context(text: str) -> ContextBlock:
    """A one-element mrkdwn context block, cut to the limit."""
    return ContextBlock(elements=[_mrkdwn(text, MAX_CONTEXT_TEXT)])


def header(text: str) -> HeaderBlock:
    """A plain-text header, cut to the limit."""
    return HeaderBlock(text=_plain(text, MAX_HEADER_TEXT))


def _button(action_id: str, label: str, value: str, style: str | None = None) -> ButtonElement:
    if len(value) > MAX_BUTTON_VALUE:
        raise ValueError(f"button value of {len(value)} characters is over {MAX_BUTTON_VALUE}")
    return ButtonElement(
        action_id=action_id, text=_plain(label, MAX_BUTTON_TEXT), value=value, style=style
    )


def bullets(lines: Iterable[str]) -> str:
    """Lines as a mrkdwn bullet list."""
    return "\n".join(f"• {line}" for line in lines)


def _chunked_sections(title: str, lines: Sequence[str], max_blocks: int) -> list[Block]:
    """`title` and bullet lines as as many sections as needed to keep each under 3000
    characters, at most `max_blocks` blocks (the last one then says how many were left out)."""
    groups: list[list[str]] = [[title]]
    for line in lines:
        bullet = truncate(f"• {line}", MAX_SECTION_TEXT)
        if len("\n".join([*groups[-1], bullet])) > MAX_SECTION_TEXT:
            groups.append([])
        groups[-1].append(bullet)
    if len(groups) > max_blocks:
        kept = groups[: max(max_blocks - 1, 0)]
        left = sum(len(group) for group in groups[len(kept) :])
        return [*(section("\n".join(g)) for g in kept), context(f"…and {left} more.")]
    return [section("\n".join(group)) for group in groups]


def _fit(blocks: list[Block], limit: int, keep_last: int = 1) -> tuple[Block, ...]:
    """Keep a message or view within its block limit, keeping its last `keep_last` blocks (the
    buttons or the sources) and saying that something was left out."""
    if len(blocks) <= limit:
        return tuple(blocks)
    head, tail = blocks[: len(blocks) - keep_last], blocks[len(blocks) - keep_last :]
    return (*head[: limit - len(tail) - 1], context("(Shortened to fit in Slack.)"), *tail)


def _sources_context(sources: Iterable[Source]) -> ContextBlock:
    unique = list(dict.fromkeys(sources))
    links = " · ".join(link(source.url, source.title) for source in unique)
    return context(f"*Sources:* {links}")


def _notification(text: str) -> str:
    return truncate(text, MAX_MESSAGE_TEXT)


def framework_names(kb: KnowledgeBase, conjunction: str = "and") -> str:
    """The frameworks' names as a phrase ("A and B", "A, B or C"), escaped for mrkdwn: from
    the knowledge, never spelled out in code."""
    names = [escape(framework.name) for framework in kb.frameworks]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


# --- answers ------------------------------------------------------------------------------------


def feedback_blocks(feedback: FeedbackButtons) -> list[Block]:
    """The feedback buttons (block_id "feedback"); after a vote, the chosen one is highlighted
    and a line thanks the voter and says how to change the vote."""
    buttons = ActionsBlock(
        block_id=FEEDBACK_BLOCK_ID,
        elements=[
            _button(
                ActionId.FEEDBACK_HELPFUL,
                "Helpful",
                feedback.value,
                "primary" if feedback.helpful is True else None,
            ),
            _button(
                ActionId.FEEDBACK_NOT_HELPFUL,
                "Not helpful",
                feedback.value,
                "primary" if feedback.helpful is False else None,
            ),
        ],
    )
    if feedback.helpful is None:
        return [buttons]
    marked = "helpful" if feedback.helpful else "not helpful"
    thanks = f"Thanks {mention(feedback.voter)}" if feedback.voter else "Thanks"
    return [
        buttons,
        context(f"{thanks}: marked {marked}. Click the other button to change your vote."),
    ]


@lru_cache(maxsize=1)
def _fresh_feedback_template() -> dict[str, Any]:
    return feedback_blocks(FeedbackButtons("value"))[0].to_dict()


def fresh_feedback_json(value: str) -> dict[str, Any]:
    """The JSON of the not-yet-voted feedback buttons valued `value`: the same as rendering
    feedback_blocks(FeedbackButtons(value)), from a template validated once (every answer
    carries these buttons; only their value changes)."""
    if len(value) > MAX_BUTTON_VALUE:
        raise ValueError(f"button value of {len(value)} characters is over {MAX_BUTTON_VALUE}")
    template = _fresh_feedback_template()
    buttons = [{**button, "value": value} for button in template["elements"]]
    return {**template, "elements": buttons}


def answer_message(
    kb: KnowledgeBase,
    entry: Entry,
    *,
    asked: str | None = None,
    feedback: FeedbackButtons | None = None,
    bodies: AnswerBodies | None = None,
) -> Message:
    """One knowledge entry as an answer, ending with its sources (and the feedback buttons
    when `feedback` is given); `asked` (the person's own words, unescaped) is quoted above it
    when the answer replaces an earlier message. The body comes from `bodies` (the snapshot's
    rendered answers of `kb`) when given, else it is rendered now."""
    if bodies is None or bodies.kb is not kb:
        bodies = AnswerBodies(kb)
    body, rendered = bodies.get(entry)
    blocks: list[Block] = []
    if asked:
        blocks.append(context(f"You asked: “{quote_user_text(asked)}”"))
        rendered = ()
    blocks.extend(body)
    if feedback is not None:
        buttons = feedback_blocks(feedback)
        blocks.extend(buttons)
        if rendered and feedback.helpful is None:
            rendered = (*rendered, fresh_feedback_json(feedback.value))
    text = _notification(f"{entry.title}: {entry.answer}")
    return Message(text, tuple(blocks), rendered)


def not_sure_message(
    result: MatchResult, asked: str, topic_value: Callable[[str], str] | None = None
) -> Message:
    """Say plainly that no entry fits, and offer the closest topics as buttons; a button's
    value is `topic_value(entry id)` (the entry id itself by default)."""
    value_of = topic_value or (lambda entry_id: entry_id)
    question = quote_user_text(result.question or asked)
    opening = (
        f"I'm not sure I can answer “{question}”." if question else "I'm not sure what you asked."
    )
    suggestions = result.alternatives[:MAX_SUGGESTIONS]
    blocks: list[Block] = []
    if suggestions:
        blocks.append(section(f"{opening} These are the closest topics I know about:"))
        blocks.append(
            ActionsBlock(
                block_id="suggestions",
                elements=[
                    _button(f"{ActionId.ANSWER_TOPIC}_{index}", c.entry.title, value_of(c.entry.id))
                    for index, c in enumerate(suggestions)
                ],
            )
        )
        blocks.append(context("Pick one, or ask again in other words."))
    else:
        blocks.append(section(f"{opening} Try asking in other words, or see `{COMMAND} help`."))
    return Message(_notification(f"I'm not sure I can answer that. {question}"), tuple(blocks))


def match_message(
    kb: KnowledgeBase,
    result: MatchResult,
    asked: str,
    *,
    feedback: FeedbackButtons | None = None,
    topic_value: Callable[[str], str] | None = None,
    bodies: AnswerBodies | None = None,
) -> Message:
    """The answer when the matcher is confident (with `feedback` buttons if given, its body
    from `bodies`), otherwise the honest "not sure" (nothing to rate there: it has no feedback
    buttons) with topic buttons valued by `topic_value`."""
    if result.best is None:
        return not_sure_message(result, asked, topic_value)
    return answer_message(kb, result.best.entry, feedback=feedback, bodies=bodies)


def notice_message(text: str) -> Message:
    """A one-section message; `text` is mrkdwn the caller has already escaped."""
    return Message(_notification(text), (section(text),))


def with_note(message: Message, note: str) -> Message:
    """`message` with a mrkdwn note (already escaped) above it, still within the block limit."""
    blocks = [section(note), *message.blocks]
    return Message(_notification(f"{note} {message.text}"), _fit(blocks, MAX_MESSAGE_BLOCKS))


# --- help and companies -------------------------------------------------------------------------


def help_message(
    kb: KnowledgeBase,
    command: str,
    *,
    unknown: str | None = None,
    suggestion: str | None = None,
) -> Message:
    """What /framework can do; for an unknown subcommand, says so and names the closest one."""
    ids = "|".join(framework.id for framework in kb.frameworks)
    lines = [
        f"`{command} recommend`: answer a few questions and get a recommendation",
        f"`{command} ask QUESTION`: ask anything about {framework_names(kb)}",
        f"`{command} companies [{ids}]`: companies that chose each framework, with sources",
        f"`{command} help`: this help",
    ]
    intro = f"I help your team choose between {framework_names(kb)}."
    blocks: list[Block] = []
    if unknown is not None:
        problem = f"I don't know `{quote_user_text(unknown, 60)}`."
        if suggestion is not None:
            problem += f" Did you mean `{command} {suggestion}`?"
        blocks.append(section(problem))
        text = problem
    else:
        text = intro
    blocks.append(section(f"{intro}\n{bullets(lines)}"))
    blocks.append(
        context(
            f"You can also mention @{APP_NAME} with a question in any channel I'm in, "
            "or send me a direct message."
        )
    )
    return Message(_notification(text), tuple(blocks))


def company_line(kb: KnowledgeBase, company: Company) -> str:
    """`<source|Name>: what they use it for (note)`, the name linked to its first source."""
    line = f"{company_link(kb, company)}: {company.use}"
    if company.note:
        line += f" _({company.note})_"
    return line


def companies_message(kb: KnowledgeBase, frameworks: Sequence[Framework]) -> Message:
    """The companies in the knowledge that use each of `frameworks`, linked to their sources."""
    blocks: list[Block] = []
    budget = MAX_MESSAGE_BLOCKS - 1
    for framework in frameworks:
        companies = kb.companies_using(framework.id)
        if not companies:
            blocks.append(section(f"*{escape(framework.name)}*: no companies in my notes yet."))
            continue
        lines = [company_line(kb, company) for company in companies]
        per_framework = max(budget // len(frameworks), 1)
        title = f"*Companies that use {escape(framework.name)}*"
        blocks.extend(_chunked_sections(title, lines, per_framework))
    blocks.append(
        context(
            "Company claims come from public write-ups; where one is disputed, its note says so."
        )
    )
    names = ", ".join(framework.name for framework in frameworks)
    return Message(_notification(f"Companies that use {names}"), _fit(blocks, MAX_MESSAGE_BLOCKS))


def unknown_framework_message(kb: KnowledgeBase, command: str, given: str) -> Message:
    ids = ", ".join(f"`{framework.id}`" for framework in kb.frameworks)
    text = (
        f"I don't have notes on `{quote_user_text(given, 60)}`. "
        f"Try `{command} companies` with one of {ids}, or with nothing for all of them."
    )
    return notice_message(text)


# --- the recommendation -------------------------------------------------------------------------


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
    blocks.append(section(_flip_text(rec)))
    if rec.companies:
        lines = [company_line(kb, company) for company in rec.companies]
        blocks.append(section(f"*Teams that chose {winner}*\n{bullets(lines)}"))
    sources = [
        *kb.sources_for(rec.winner.sources),
        *(kb.source(source_id) for c in rec.companies for source_id in c.sources),
    ]
    blocks.append(_sources_context(sources))
    tail: list[Block] = []
    actions = _result_actions(buttons) if buttons is not None else None
    if actions is not None:
        tail.append(actions)
    if feedback is not None:
        tail.extend(feedback_blocks(feedback))
    verdict = "a clear choice" if rec.verdict == "clear" else "a close call"
    text = f"Recommendation: {rec.winner.name} ({verdict} over {rec.runner_up.name})"
    fitted = _fit([*blocks, *tail], MAX_MESSAGE_BLOCKS, keep_last=len(tail) + 1)
    return Message(_notification(text), fitted)


def _result_actions(buttons: ResultButtons) -> ActionsBlock | None:
    elements = []
    if buttons.share_in_channel is not None:
        elements.append(
            _button(
                ActionId.SHARE_IN_CHANNEL, "Share in channel", buttons.share_in_channel, "primary"
            )
        )
    if buttons.share_in_thread is not None:
        elements.append(
            _button(ActionId.SHARE_IN_THREAD, "Share in thread", buttons.share_in_thread)
        )
    if buttons.start_over is not None:
        elements.append(_button(ActionId.START_OVER, "Start over", buttons.start_over))
    return ActionsBlock(block_id="result_actions", elements=elements) if elements else None


def start_questionnaire_message(kb: KnowledgeBase, value: str) -> Message:
    """A button that opens the questionnaire (events carry no trigger_id to open it at once)."""
    count = len(kb.questionnaire.questions)
    text = (
        f"Answer {count} short questions about your project and I'll recommend "
        f"{framework_names(kb, 'or')}, with the reasons and teams that "
        "made the same choice."
    )
    return Message(_notification(text), (section(text), start_block("Start questionnaire", value)))


def start_block(label: str, value: str) -> ActionsBlock:
    """The button that opens the questionnaire; `value` is the Place it reports to (with any
    answers chosen in advance)."""
    return ActionsBlock(
        block_id="start",
        elements=[_button(ActionId.START_QUESTIONNAIRE, label, value, "primary")],
    )


def slack_commands(command: str) -> dict[str, str]:
    """How Slack spells the commands an intent's reply may name."""
    return {name: f"`{command} {name}`" for name in REPLY_PLACEHOLDERS}


def intent_message(intent: Intent, command: str, start_value: str | None = None) -> Message:
    """The reply to small talk or a question about the bot; for the questionnaire intent, with
    the button that opens it (`start_value` is the button's value)."""
    text = fill_commands(intent.reply, slack_commands(command))
    blocks: list[Block] = [section(text)]
    if intent.action == "start-questionnaire" and start_value is not None:
        blocks.append(start_block("Start questionnaire", start_value))
    return Message(_notification(text), tuple(blocks))


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
    return Message(_notification(text), _fit(blocks, MAX_MESSAGE_BLOCKS))


def company_link(kb: KnowledgeBase, company: Company) -> str:
    """The company's name linked to its first source."""
    source = kb.source(company.sources[0])
    return link(source.url, company.name)


# --- the questionnaire modal ----------------------------------------------------------------------


def question_block_id(question: Question) -> str:
    return f"{QUESTION_BLOCK_PREFIX}{question.id}"


def _options(question: Question) -> list[Option]:
    """The question's options; values are option ids, which the knowledge schema keeps within
    64 characters (Slack allows 150)."""
    return [
        Option(value=option.id, text=_plain(option.label, MAX_OPTION_TEXT))
        for option in question.options
    ]


def _choice_element(question: Question, chosen: Sequence[str]) -> Any:
    options = _options(question)
    selected = [option for option in options if option.value in chosen]
    action_id = ActionId.QUESTIONNAIRE_CHOICE.value
    if question.kind == "single":
        initial = selected[0] if selected else None
        if len(options) <= MAX_RADIO_OPTIONS:
            return RadioButtonsElement(action_id=action_id, options=options, initial_option=initial)
        return StaticSelectElement(
            action_id=action_id,
            options=options[:MAX_SELECT_OPTIONS],
            initial_option=initial,
            placeholder=_plain("Choose one", 150),
        )
    if len(options) <= MAX_RADIO_OPTIONS:
        return CheckboxesElement(
            action_id=action_id, options=options, initial_options=selected or None
        )
    return StaticMultiSelectElement(
        action_id=action_id,
        options=options[:MAX_SELECT_OPTIONS],
        initial_options=selected or None,
        placeholder=_plain("Choose one or more", 150),
    )


def questionnaire_view(
    questionnaire: Questionnaire,
    step: int,
    answers: Mapping[str, Sequence[str]],
    private_metadata: str,
    callback_id: str,
) -> View:
    """Step `step` (0-based) of the questionnaire: one question, "Step k of n", Back from the
    second step on, and "Next" or, on the last step, "See recommendation"."""
    questions = questionnaire.questions
    if not 0 <= step < len(questions):
        raise ValueError(f"step {step} is outside 0..{len(questions) - 1}")
    if len(private_metadata) > MAX_PRIVATE_METADATA:
        raise ValueError(
            f"private_metadata of {len(private_metadata)} characters is over {MAX_PRIVATE_METADATA}"
        )
    question = questions[step]
    last = step == len(questions) - 1
    hint = question.help or ("Choose all that apply." if question.kind == "multiple" else None)
    blocks: list[Block] = [
        context(f"Step {step + 1} of {len(questions)}"),
        InputBlock(
            block_id=question_block_id(question),
            label=_plain(question.prompt, MAX_INPUT_LABEL),
            element=_choice_element(question, answers.get(question.id, ())),
            hint=_plain(hint, MAX_INPUT_LABEL) if hint else None,
        ),
    ]
    if step > 0:
        blocks.append(
            ActionsBlock(
                block_id="navigation",
                elements=[_button(ActionId.QUESTIONNAIRE_BACK, "Back", str(step))],
            )
        )
    return View(
        type="modal",
        callback_id=callback_id,
        title=_plain(QUESTIONNAIRE_TITLE, MAX_VIEW_TITLE),
        submit=_plain("See recommendation" if last else "Next", MAX_VIEW_TITLE),
        close=_plain("Cancel", MAX_VIEW_TITLE),
        blocks=blocks,
        private_metadata=private_metadata,
        clear_on_close=True,
    )


def notice_view(title: str, text: str) -> View:
    """A modal that only says something (mrkdwn `text`, already escaped), with a Close button."""
    return View(
        type="modal",
        title=_plain(title, MAX_VIEW_TITLE),
        close=_plain("Close", MAX_VIEW_TITLE),
        blocks=[section(text)],
    )


# --- App Home -------------------------------------------------------------------------------------


def home_view(kb: KnowledgeBase, start_value: str) -> View:
    """The Home tab: what the bot does, a button to start the questionnaire, example questions
    from the knowledge, and the companies with their sources."""
    names = framework_names(kb)
    blocks: list[Block] = [
        header(APP_NAME),
        section(
            f"I help your team choose between {names}. Ask me a question and I answer from "
            "curated notes, with sources; or answer a few questions about your project and I "
            "recommend one, with the reasons and teams that made the same choice."
        ),
        ActionsBlock(
            block_id="home_start",
            elements=[
                _button(ActionId.START_QUESTIONNAIRE, "Start questionnaire", start_value, "primary")
            ],
        ),
        DividerBlock(),
        section(
            "*Ask me anything*\nMention me with a question in a channel I'm in (I answer in "
            f"the thread), send me a direct message, use `{COMMAND} ask …`, or use the "
            f"message shortcut *Ask {APP_NAME}* on any message."
        ),
    ]
    examples = [f"“{escape(entry.phrasings[0])}”" for entry in kb.entries[:HOME_EXAMPLES]]
    if examples:
        blocks.append(section(f"*For example*\n{bullets(examples)}"))
    blocks.append(DividerBlock())
    used = len(blocks) + 1
    frameworks = [f for f in kb.frameworks if kb.companies_using(f.id)]
    for framework in frameworks:
        lines = [company_line(kb, company) for company in kb.companies_using(framework.id)]
        budget = max((MAX_VIEW_BLOCKS - used) // len(frameworks), 1)
        title = f"*Teams that use {escape(framework.name)}*"
        blocks.extend(_chunked_sections(title, lines, budget))
    blocks.append(context("Every answer ends with the sources it is based on."))
    return View(type="home", callback_id="home", blocks=list(_fit(blocks, MAX_VIEW_BLOCKS)))
