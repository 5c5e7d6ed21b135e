"""`decide` in the terminal session: a local team decision, answered person by person.

Each person gives a name and answers the questionnaire; after each one the session says how
the team leans so far and where people differ, and at the end it shows the decision record
(MADR 4.0 Markdown, status proposed: nothing is stored, as for the rest of the session).
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.knowledge import KnowledgeBase
from bot.render.adr import RecordDetails, adr_markdown, plain
from bot.team import NoTeamRule, TeamRecommendation, decide, team_rule
from bot.terminal import Cancelled, Console, Questionnaire

MAX_PEOPLE = 50


def summary(team: TeamRecommendation, names: dict[str, str]) -> str:
    """How the team leans so far and where people differ, in a few plain lines."""
    count = len(team.people)
    if team.single_voice:
        lines = [
            f"Only {names[team.people[0]]} has answered: their answers lean {team.winner.name}. "
            "That is one person's view, not the team's."
        ]
    else:
        verdict = "a clear choice" if team.standing.verdict == "clear" else "a close call"
        lines = [
            f"{count} people have answered: {team.winner.name} leads {team.runner_up.name} by "
            f"{team.standing.margin:g} ({verdict})."
        ]
    for disagreement in team.disagreements:
        who = "; ".join(
            f"{' + '.join(o.label for o in group.options)} "
            f"({', '.join(names[person] for person in group.people)})"
            for group in disagreement.groups
        )
        lines.append(f"  Differ on “{disagreement.question.prompt}”: {who}")
    if team.turning_point is not None:
        question, agreement = team.turning_point
        labels = " + ".join(option.label for option in agreement.options)
        lines.append(
            f"  If everyone chose “{labels}” for “{question.prompt}”, "
            f"{agreement.standing.winner.name} would come out ahead."
        )
    return "\n".join(lines)


def decide_in_session(kb: KnowledgeBase, console: Console) -> None:
    """Ask for each person's name and answers until an empty name, then show the record."""
    try:
        rule = team_rule(kb)
    except NoTeamRule as error:
        console.show(f"Team decisions are not set up: {error}.\n")
        return
    console.show(
        "A team decision: each person answers the questionnaire in turn. "
        f"How answers combine: {rule.explanation}"
    )
    names: dict[str, str] = {}
    ballots: dict[str, dict[str, list[str]]] = {}
    team: TeamRecommendation | None = None
    while len(ballots) < MAX_PEOPLE:
        try:
            name = console.read("\nWho answers next? (a name; empty line when everyone has) ")
        except (EOFError, KeyboardInterrupt):
            console.show()
            break
        name = " ".join(name.split())
        if not name:
            break
        person = name.casefold()
        if person in ballots:
            console.show(f"{names[person]} answered already; their new answers replace them.")
        try:
            answers = Questionnaire(kb, console).run(ballots.get(person))
        except Cancelled:
            console.show(f"{name}'s answers were dropped.")
            continue
        names[person], ballots[person] = name, answers
        team = decide(kb, ballots)
        console.show("\n" + summary(team, names))
    if team is None:
        console.show("Nobody answered, so there is nothing to decide.\n")
        return
    details = RecordDetails(
        decision_id=None,
        title=console_title(console),
        status="proposed",
        date=datetime.now(UTC).date(),
        permalink=None,
        knowledge_version=None,
    )
    record = adr_markdown(kb, details, team, lambda person: plain(names[person]))
    console.show("\nThe decision record (MADR 4.0):\n")
    console.stdout.write(record + "\n")


def console_title(console: Console) -> str:
    try:
        title = console.read("Title for the decision record (Enter for a default): ")
    except (EOFError, KeyboardInterrupt):
        title = ""
    return " ".join(title.split()) or "Choosing a web framework"
