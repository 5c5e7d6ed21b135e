"""Plain text for what the matcher made of a message (the terminal's counterparts of
`intent_message` and `match_message` in answers.py, `project_message` in recommendation.py).
`commands` is how the surface spells a command: "" in the session (`recommend`), "framework-bot "
on the command line (`framework-bot recommend`)."""

from __future__ import annotations

from bot.advisor import Lean, lean
from bot.knowledge import REPLY_PLACEHOLDERS, Intent, KnowledgeBase, fill_commands
from bot.matching import ProjectReading, Understanding
from bot.render.text import CLI_COMMANDS, mrkdwn_to_text, render_match


def render_intent(intent: Intent, commands: str = CLI_COMMANDS) -> str:
    spelled = {name: f"`{commands}{name}`" for name in REPLY_PLACEHOLDERS}
    return mrkdwn_to_text(fill_commands(intent.reply, spelled), commands=commands)


def render_project(kb: KnowledgeBase, reading: ProjectReading, leaning: Lean) -> str:
    """What was read, the lean and why, what could not be told, and companies."""
    read, total = len(leaning.answers), len(kb.questionnaire.questions)
    if leaning.leader is None:
        names = " and ".join(framework.name for framework in kb.frameworks)
        lines = [f"No lean yet: from what you describe, {names} fit equally well."]
    else:
        lines = [
            f"Leaning {leaning.leader.name}, from what you describe ({read} of {total} "
            "questions answered). A lean, not a verdict: the rest could change it."
        ]
    lines += ["", "You mentioned:"]
    lines += [f"  - {s.option.label} (you said “{s.phrase}”)" for s in reading.signals]
    if leaning.reasons:
        lines += ["", "Why:", *(f"  - {c.option.reason}" for c in leaning.reasons[:3])]
    if leaning.against:
        other = [f"  - {c.option.reason}" for c in leaning.against[:3]]
        lines += ["", "On the other side:", *other]
    if leaning.unanswered:
        lines += ["", "What I couldn't tell:", *(f"  - {q.prompt}" for q in leaning.unanswered)]
    if leaning.companies and leaning.leader is not None:
        lines += ["", f"Teams that chose {leaning.leader.name}:"]
        for company in leaning.companies:
            source = kb.source(company.sources[0])
            lines.append(f"  - {company.name} ({source.url})")
    return "\n".join(mrkdwn_to_text(line) for line in lines)


def render_understanding(
    kb: KnowledgeBase,
    understanding: Understanding,
    *,
    numbered: bool = False,
    commands: str = CLI_COMMANDS,
    finish_hint: str = "",
) -> str:
    """The reply to a message: small talk's reply, a project's lean (then `finish_hint`, how
    to finish the questionnaire with those answers), or the answer / "not sure"."""
    if understanding.kind == "intent" and understanding.intent is not None:
        return render_intent(understanding.intent, commands)
    if understanding.kind == "project" and understanding.reading is not None:
        leaning = lean(kb, understanding.reading.answers)
        text = render_project(kb, understanding.reading, leaning)
        return f"{text}\n\n{finish_hint}" if finish_hint else text
    return render_match(kb, understanding.match, numbered=numbered, commands=commands)
