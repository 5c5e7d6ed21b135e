"""Plain text for the replies that are not answers: small talk, and a project description's lean
(the terminal's counterparts of `intent_message` and `project_message` in blocks.py)."""

from __future__ import annotations

from bot.advisor import Lean
from bot.knowledge import REPLY_PLACEHOLDERS, Intent, KnowledgeBase, fill_commands
from bot.matching import ProjectReading
from bot.render.text import mrkdwn_to_text

TERMINAL_COMMANDS = {name: f"`{name}`" for name in REPLY_PLACEHOLDERS}
"""How the terminal spells the commands an intent's reply names (`recommend`, not
`/framework recommend`)."""


def render_intent(intent: Intent) -> str:
    return mrkdwn_to_text(fill_commands(intent.reply, TERMINAL_COMMANDS))


def render_project(kb: KnowledgeBase, reading: ProjectReading, leaning: Lean) -> list[str]:
    """Lines: what was read, the lean and why, what could not be told, companies."""
    read, total = len(leaning.answers), len(kb.questionnaire.questions)
    if leaning.leader is None:
        names = " and ".join(framework.name for framework in kb.frameworks)
        lines = [f"No lean yet: from what you describe, {names} fit equally well."]
    else:
        lines = [
            f"Leaning {leaning.leader.name}: from what you describe ({read} of {total} "
            "questions answered). A lean, not a verdict: the rest could change it."
        ]
    lines += ["", "You mentioned:"]
    lines += [f"  - {s.option.label} (you said “{s.phrase}”)" for s in reading.signals]
    if leaning.reasons:
        lines += ["", "Why:", *(f"  - {c.option.reason}" for c in leaning.reasons[:3])]
    if leaning.against:
        lines += [
            "",
            "On the other side:",
            *(f"  - {c.option.reason}" for c in leaning.against[:3]),
        ]
    if leaning.unanswered:
        lines += ["", "What I couldn't tell:", *(f"  - {q.prompt}" for q in leaning.unanswered)]
    if leaning.companies and leaning.leader is not None:
        lines += ["", f"Teams that chose {leaning.leader.name}:"]
        for company in leaning.companies:
            source = kb.source(company.sources[0])
            lines.append(f"  - {company.name} ({source.url})")
    return [mrkdwn_to_text(line) for line in lines]
