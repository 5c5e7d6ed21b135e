"""A team decision as an Architecture Decision Record in MADR 4.0 form (Markdown).

The same record goes into the channel's canvas and into `framework-bot decision export`; only
how people are named differs (`person`: a Slack mention in a canvas, a name in a file). The
sections are MADR's: front matter (status, date, decision-makers), the title, Context and
Problem Statement, Decision Drivers, Considered Options, Decision Outcome with Consequences and
Confirmation, and More Information.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from bot.knowledge import KnowledgeBase, Option
from bot.team import Agreement, Standing, TeamRecommendation

RecordStatus = Literal["proposed", "accepted"]

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|!])")


@dataclass(frozen=True)
class RecordDetails:
    decision_id: int | None
    """None for a decision made in the terminal session (nothing stored)."""
    title: str
    status: RecordStatus
    date: date
    permalink: str | None
    knowledge_version: str | None


def plain(text: str) -> str:
    """Text a person typed, on one line, with Markdown's special characters escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def canvas_mention(user_id: str) -> str:
    """A user mention in canvas Markdown."""
    return f"![](@{user_id})"


def _labels(options: Sequence[Option]) -> str:
    return " + ".join(f"“{option.label}”" for option in options)


def _outcome(standing: Standing, current_winner: str) -> str:
    still = " still" if standing.winner.id == current_winner else ""
    if standing.tied:
        return f"{standing.winner.name} and {standing.runner_up.name} would tie"
    if standing.verdict == "clear":
        return f"{standing.winner.name} would{still} win clearly (by {standing.margin:g})"
    return f"{standing.winner.name} would{still} lead by only {standing.margin:g}, a close call"


def _agreement(agreement: Agreement, current_winner: str) -> str:
    outcome = _outcome(agreement.standing, current_winner)
    return f"if everyone chose {_labels(agreement.options)}, {outcome}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def adr_markdown(
    kb: KnowledgeBase,
    details: RecordDetails,
    team: TeamRecommendation,
    person: Callable[[str], str],
) -> str:
    """The MADR 4.0 record of `team`'s decision; `person` writes a Slack user id."""
    standing = team.standing
    winner, runner_up = team.winner, team.runner_up
    everyone = ", ".join(person(user) for user in team.people)
    verdict = "a clear choice" if standing.verdict == "clear" else "a close call"
    scores = ", ".join(f"{s.framework.name} {s.score:g}" for s in standing.scores)
    lines: list[str] = [
        "---",
        f"status: {details.status}",
        f"date: {details.date.isoformat()}",
        f"decision-makers: {everyone}",
        "---",
        "",
        f"# {plain(details.title)}",
        "",
        "## Context and Problem Statement",
        "",
        f"Which framework should we use: {' or '.join(f.name for f in kb.frameworks)}? "
        f"{len(team.people)} {'person' if len(team.people) == 1 else 'people'} answered the "
        "questionnaire about the project:",
        "",
    ]
    for question in kb.questionnaire.questions:
        groups: dict[tuple[str, ...], list[str]] = {}
        for user in team.people:
            groups.setdefault(team.answers[user][question.id], []).append(user)
        options = {option.id: option for option in question.options}
        said = "; ".join(
            f"{_labels([options[i] for i in answer])} ({', '.join(person(u) for u in users)})"
            for answer, users in groups.items()
        )
        lines.append(f"* **{question.prompt}** {said}")
    lines += ["", f"How the answers combine: {team.rule.explanation}", ""]
    if team.single_voice:
        lines += ["Only one person answered: this is their view, recorded as the decision.", ""]

    lines += ["## Decision Drivers", ""]
    if team.drivers:
        lines += [f"* {question.prompt}" for question in team.drivers]
    else:
        lines.append("* No answer leaned strongly either way.")
    lines += ["", "## Considered Options", ""]
    lines += [f"* {framework.name}" for framework in kb.frameworks]

    because = (
        "; ".join(_lower_first(r.option.reason.rstrip(".")) for r in team.reasons[:2])
        if team.reasons
        else "the answers leaned neither way and it is listed first"
    )
    lines += [
        "",
        "## Decision Outcome",
        "",
        f'Chosen option: "{winner.name}", because {because}. It is {verdict} over '
        f"{runner_up.name} on the team's combined answers (scores: {scores}).",
        "",
        "### Consequences",
        "",
    ]
    for reason in team.reasons:
        lines.append(
            f"* Good, because {_lower_first(reason.option.reason)} "
            f"({len(reason.people)} of {len(team.people)})"
        )
    for strength in team.give_up:
        lines.append(f"* Bad, because we give up what {runner_up.name} offers: {strength}")
    for against in team.against:
        lines.append(
            f"* Bad, because {_lower_first(against.option.reason)} "
            f"({len(against.people)} of {len(team.people)})"
        )
    lines += ["", "### Confirmation", ""]
    if team.turning_point is not None:
        question, agreement = team.turning_point
        lines.append(
            "Revisit this decision if the team comes to agree: "
            f"on “{question.prompt}”, {_agreement(agreement, winner.id)}."
        )
    elif team.flip is not None:
        flip = team.flip
        lines.append(
            f"Revisit this decision if the answer to “{flip.question.prompt}” becomes "
            f"{_labels(flip.alternative)}: {flip.new_winner.name} would then come out ahead."
        )
    else:
        lines.append(
            "No single changed answer would change this decision; revisit it if the project "
            "itself changes."
        )

    lines += ["", "## More Information", ""]
    if team.companies:
        lines.append(f"Teams that chose {winner.name}:")
        lines.append("")
        for company in team.companies:
            sources = ", ".join(
                f"[{kb.source(source_id).title}]({kb.source(source_id).url})"
                for source_id in company.sources
            )
            lines.append(f"* {company.name}: {company.use} (sources: {sources})")
        lines.append("")
    if team.disagreements:
        lines += ["Where the team disagreed:", ""]
        for disagreement in team.disagreements:
            who = "; ".join(
                f"{_labels(group.options)} ({', '.join(person(u) for u in group.people)})"
                for group in disagreement.groups
            )
            what_if = "; ".join(_agreement(a, winner.id) for a in disagreement.agreements)
            lines.append(f"* {disagreement.question.prompt} {who}. Agreeing: {what_if}.")
        lines.append("")
    elif not team.single_voice:
        lines += ["Everyone gave the same answers.", ""]
    framework_sources = ", ".join(
        f"[{source.title}]({source.url})" for source in kb.sources_for(winner.sources)
    )
    lines.append(f"* About {winner.name}: {framework_sources}")
    if details.permalink:
        lines.append(f"* Slack thread: {details.permalink}")
    if details.knowledge_version:
        lines.append(f"* Knowledge version: {details.knowledge_version}")
    if details.decision_id is not None:
        lines.append(f"* Decision {details.decision_id}, recorded by Framework Advisor")
    else:
        lines.append("* Recorded by Framework Advisor in a terminal session")
    return "\n".join(lines) + "\n"


def record_file_name(decision_id: int, title: str) -> str:
    """`0007-framework-for-the-billing-service.md`, as in docs/decisions/."""
    slug = "-".join(re.findall(r"[a-z0-9]+", title.lower()))[:60].strip("-") or "decision"
    return f"{decision_id:04d}-{slug}.md"
