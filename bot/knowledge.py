"""The knowledge base: pydantic schema and a loader that turns knowledge/*.yaml into one
validated, immutable KnowledgeBase.

Every *.yaml file in a knowledge folder may hold any of the top-level keys of `KnowledgeFile`;
lists from all files are merged, so curators can split entries across files as they grow.
Errors never stop at the first: every problem in every file is collected and reported with
its file, line and field, so one `kb check` run shows everything there is to fix.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

# libyaml's loader parses about ten times faster; the pure-Python one is the fallback.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

DEFAULT_KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
SlackOwner = Annotated[str, StringConstraints(pattern=r"^[UWS][A-Z0-9]{2,30}$")]


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


_T = TypeVar("_T")
_Identified = TypeVar("_Identified", bound=_HasId)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Model):
    """A public document that answers and company examples cite."""

    id: Identifier
    title: Text
    url: Url


class Framework(_Model):
    id: Identifier
    name: Text
    summary: Text
    architecture: Text
    built_ins: tuple[Text, ...] = ()
    strengths: tuple[Text, ...] = Field(min_length=1)
    trade_offs: tuple[Text, ...] = Field(min_length=1)
    sources: tuple[Identifier, ...] = Field(min_length=1)


class Trait(_Model):
    """A property of a project (API-first, content-heavy, ...) that links questionnaire
    answers to the company examples worth showing for them."""

    id: Identifier
    label: Text


class Entry(_Model):
    """One answerable topic: the question in several phrasings and a short mrkdwn answer."""

    id: Identifier
    title: Text
    phrasings: tuple[Text, ...] = Field(min_length=4)
    keywords: tuple[Text, ...] = ()
    answer: Text
    related: tuple[Identifier, ...] = ()
    sources: tuple[Identifier, ...] = Field(min_length=1)
    caveat: Text | None = None
    owner: SlackOwner | None = Field(
        default=None,
        description="Who keeps this answer true: a Slack user (U…/W…) or user group (S…) id.",
    )
    reviewed: date | None = Field(
        default=None,
        description="When the answer was last checked against its sources (YYYY-MM-DD); "
        "`kb check` warns once it is older than REVIEW_AFTER_DAYS.",
    )


class Company(_Model):
    id: Identifier
    name: Text
    framework: Identifier
    use: Text
    traits: tuple[Identifier, ...] = ()
    sources: tuple[Identifier, ...] = Field(min_length=1)
    note: Text | None = None


CountedWord = Annotated[str, StringConstraints(pattern=r"^[a-z]+$", max_length=32)]


class Count(_Model):
    """A number of things that indicates an answer, whatever the number: "~30 endpoints",
    "a team of 12", "300 tables" (signals can only list numbers one by one)."""

    of: tuple[CountedWord, ...] = Field(
        min_length=1,
        description="What is counted, each form of the word that meets ('dev', 'devs'): "
        "'team' meets 'a team of 5' and not '2 teams'.",
    )
    at_least: int = Field(default=0, ge=0)
    at_most: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _in_order(self) -> Count:
        if self.at_most is not None and self.at_most < self.at_least:
            raise ValueError(f"at_most ({self.at_most}) is below at_least ({self.at_least})")
        return self

    def holds(self, number: int) -> bool:
        return self.at_least <= number and (self.at_most is None or number <= self.at_most)


class Option(_Model):
    id: Identifier
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=75)]
    weights: dict[Identifier, float] = Field(default_factory=dict)
    reason: Text
    traits: tuple[Identifier, ...] = ()
    exclusive: bool = Field(
        default=False,
        description="In a multiple-choice question, an option that stands alone ('None of these').",
    )
    signals: tuple[Text, ...] = Field(
        default=(),
        description="Phrases that, in a message describing a project, indicate this answer.",
    )
    counts: tuple[Count, ...] = Field(
        default=(),
        description="Numbers of things that, in a message describing a project, indicate this "
        "answer ('~30 endpoints').",
    )


class Question(_Model):
    id: Identifier
    prompt: Text
    help: Text | None = None
    kind: Literal["single", "multiple"] = "single"
    options: tuple[Option, ...] = Field(min_length=2)
    names_the_product: bool = Field(
        default=False,
        description="Its answers say what the project is (a forum, a status page): a message "
        "sent without a question that names one of them and one more answer is a description "
        "sent for the pick.",
    )


class TeamRule(_Model):
    """How several people's questionnaire answers combine into one team result."""

    combine: Literal["sum", "majority"] = Field(
        description="sum: the team's score is the sum of each person's score; majority: each "
        "question counts once, with the answer most people gave (tied answers share it).",
    )
    explanation: Text = Field(description="The rule in one line, as the team reads it.")
    multiple_choice_share: float = Field(
        gt=0,
        le=1,
        description="majority: an option of a multiple-choice question counts when at least "
        "this share of the team chose it.",
    )


class Questionnaire(_Model):
    close_call_margin: float = Field(
        gt=0,
        description="Score difference below which the verdict is a close call, not a clear choice.",
    )
    team: TeamRule | None = Field(
        default=None,
        description="How a team's answers combine (`/framework decide`); without it, team "
        "decisions are unavailable.",
    )
    choice_cues: tuple[Text, ...] = Field(
        default=(),
        description="Phrases that ask which framework to pick ('which one', 'should we use'): "
        "with option signals, they mark a message as a project description.",
    )
    closing_asks: tuple[Text, ...] = Field(
        default=(),
        description="Whole last sentences that ask for the pick after a description "
        "('framework?', 'go.'): said anywhere else, their words ask nothing.",
    )
    questions: tuple[Question, ...] = Field(min_length=1)

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
REPLY_PLACEHOLDERS = frozenset({"recommend", "ask", "companies", "help"})
"""Commands an intent's reply may name as `{recommend}`: each surface fills in its own spelling
(`/framework recommend` in Slack, `recommend` in the terminal)."""


def fill_commands(text: str, commands: Mapping[str, str]) -> str:
    """`text` with each `{recommend}`-style placeholder replaced by that surface's spelling of
    the command; anything else in braces is left as written."""
    return _PLACEHOLDER.sub(lambda found: commands.get(found.group(1), found.group(0)), text)


class Intent(_Model):
    """Small talk or a question about the bot itself, answered with a fixed reply."""

    id: Identifier
    examples: tuple[Text, ...] = Field(min_length=3)
    reply: Text
    action: Literal["reply", "start-questionnaire"] = "reply"
    courtesy: bool = Field(
        default=False,
        description="Said around a request rather than being one (a greeting, thanks): in a "
        "message that also holds another intent, the other one is answered.",
    )
    mentions: tuple[Text, ...] = Field(
        default=(),
        description='Names of what the intent is about ("the questionnaire", "framework '
        'recommend"): a message with a sentence naming one is this intent, whatever topic it '
        "shares words with, unless it describes a project at length.",
    )


class SuggestedPrompt(_Model):
    """A prompt offered in the app's Messages tab: a short title, and the message it sends."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=75)]
    message: Text


class Assistant(_Model):
    """How the app presents itself in Slack's agent Messages tab."""

    description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)
    ]
    prompts: tuple[SuggestedPrompt, ...] = Field(min_length=1, max_length=4)


class KnowledgeFile(_Model):
    """What a single knowledge/*.yaml file may contain."""

    sources: tuple[Source, ...] = ()
    frameworks: tuple[Framework, ...] = ()
    traits: tuple[Trait, ...] = ()
    entries: tuple[Entry, ...] = ()
    companies: tuple[Company, ...] = ()
    intents: tuple[Intent, ...] = ()
    assistant: Assistant | None = None
    aliases: dict[Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+$")], Text] = Field(
        default_factory=dict,
        description="Abbreviations people type, spelled out before matching: drf -> django "
        "rest framework.",
    )
    anchors: tuple[Text, ...] = Field(
        default=(),
        description="Words that place a message in this knowledge's world (besides the "
        "frameworks' names).",
    )
    elsewhere: tuple[Text, ...] = Field(
        default=(),
        description="Phrases that place a message in another world although it may share "
        "words with this one: other products, the other senses of the names.",
    )
    other_stacks: tuple[Text, ...] = Field(
        default=(),
        description="Other web stacks (Rails, Laravel): a message naming one and neither "
        "framework is about that stack; one that names a framework too (coming from Rails, "
        "what is Django's ORM like?) is a question here.",
    )
    home_languages: tuple[Text, ...] = Field(
        default=(),
        description="The frameworks' language (Python): a project description that names it "
        "beside another stack is leaving that stack for one of the frameworks.",
    )
    names: tuple[Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+$")], ...] = Field(
        default=(),
        description="Names people type that are one letter from a knowledge word but no typo "
        "of it (openai is not openapi): the typo corrector leaves them as they are.",
    )
    questionnaire: Questionnaire | None = None


class KnowledgeBase(_Model):
    """The whole validated knowledge, merged from every file of a folder."""

    sources: tuple[Source, ...]
    frameworks: tuple[Framework, ...]
    traits: tuple[Trait, ...]
    entries: tuple[Entry, ...]
    companies: tuple[Company, ...]
    questionnaire: Questionnaire
    intents: tuple[Intent, ...] = ()
    aliases: dict[str, str] = Field(default_factory=dict)
    anchors: tuple[str, ...] = ()
    elsewhere: tuple[str, ...] = ()
    other_stacks: tuple[str, ...] = ()
    home_languages: tuple[str, ...] = ()
    names: frozenset[str] = frozenset()
    assistant: Assistant | None = None

    def intent(self, intent_id: str) -> Intent:
        return _by_id(self.intents, intent_id)

    def entry(self, entry_id: str) -> Entry:
        return _by_id(self.entries, entry_id)

    def source(self, source_id: str) -> Source:
        return _by_id(self.sources, source_id)

    def framework(self, framework_id: str) -> Framework:
        return _by_id(self.frameworks, framework_id)

    def trait(self, trait_id: str) -> Trait:
        return _by_id(self.traits, trait_id)

    def sources_for(self, ids: Iterable[str]) -> tuple[Source, ...]:
        return tuple(self.source(source_id) for source_id in ids)

    def companies_using(self, framework_id: str) -> tuple[Company, ...]:
        return tuple(c for c in self.companies if c.framework == framework_id)

    def stale_entries(self, review_after_days: int, today: date) -> tuple[Entry, ...]:
        """Entries whose `reviewed` date is more than `review_after_days` before `today`
        (REVIEW_AFTER_DAYS; `kb check` warns about them, the curators' digest lists them),
        longest unreviewed first. Entries with no `reviewed` date are not counted."""
        stale = [
            entry
            for entry in self.entries
            if entry.reviewed is not None and (today - entry.reviewed).days > review_after_days
        ]
        return tuple(sorted(stale, key=lambda entry: (entry.reviewed or today, entry.id)))


def _by_id(items: tuple[_Identified, ...], item_id: str) -> _Identified:
    for item in items:
        if item.id == item_id:
            return item
    raise KeyError(item_id)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a knowledge folder, located precisely enough to fix it."""

    file: str
    line: int | None
    field: str
    message: str
    within: str | None = None
    """The ids of the items the field belongs to ("entry 'what-is-flask'"), for a reader who
    knows entries by id rather than by their index in the file."""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        within = f" (in {self.within})" if self.within else ""
        return f"{where}: {self.field}: {self.message}{within}"


class KnowledgeError(Exception):
    """Raised with every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        listing = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the knowledge:\n{listing}")


def load_knowledge(directory: Path | str | None = None) -> KnowledgeBase:
    """Load and validate every *.yaml file in `directory` (default: the shipped knowledge)."""
    folder = Path(directory) if directory is not None else DEFAULT_KNOWLEDGE_DIR
    if not folder.is_dir():
        raise KnowledgeError([Problem(str(folder), None, "-", "is not a folder")])
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        raise KnowledgeError([Problem(str(folder), None, "-", "has no *.yaml files")])
    problems: list[Problem] = []
    texts = [_read(path, problems) for path in files]
    key = tuple((path.name, text) for path, text in zip(files, texts, strict=True))
    if not problems:
        with _loaded_lock:
            if key in _loaded:
                _loaded.move_to_end(key)
                return _loaded[key]
    parsed = [
        p
        for p in (
            _parse_file(str(path), text, problems)
            for path, text in zip(files, texts, strict=True)
            if text is not None
        )
        if p is not None
    ]
    knowledge = _merge(parsed, problems, str(folder))
    if problems or knowledge is None:
        raise KnowledgeError(problems)
    with _loaded_lock:
        _loaded[key] = knowledge
        while len(_loaded) > KNOWLEDGE_KEPT:
            _loaded.popitem(last=False)
    return knowledge


KNOWLEDGE_KEPT = 8
"""Knowledge bases remembered by their files' names and texts: loading the same knowledge again
(an unchanged reload, another app in the process) returns the same immutable object, so what is
built from it per knowledge (its matcher) is built once."""

_loaded: OrderedDict[tuple[tuple[str, str | None], ...], KnowledgeBase] = OrderedDict()
_loaded_lock = threading.Lock()


def _read(path: Path, problems: list[Problem]) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problems.append(Problem(str(path), None, "-", f"cannot be read: {error}"))
        return None


@dataclass(frozen=True)
class _ParsedFile:
    path: str
    root: yaml.Node | None
    content: KnowledgeFile
    declared: dict[str, set[str]] | None = None
    """Section -> the ids a file that failed validation declares: its items still exist for
    references from other files, so one typo is reported once, not once per reference."""

    def line_of(self, loc: tuple[str | int, ...]) -> int | None:
        return _line_of(self.root, loc)


PARSED_FILES_KEPT = 128
"""Knowledge files whose parse is remembered, by text (see `_parse_text`)."""


def _parse_file(name: str, text: str, problems: list[Problem]) -> _ParsedFile | None:
    parsed, found = _parse_text(text)
    problems.extend(replace(problem, file=name) for problem in found)
    return replace(parsed, path=name) if parsed is not None else None


@lru_cache(maxsize=PARSED_FILES_KEPT)
def _parse_text(text: str) -> tuple[_ParsedFile | None, tuple[Problem, ...]]:
    """One file's text parsed and validated, with its problems (naming the file ""). It is
    remembered by text, the result being immutable: a reload, or another app on a copy of the
    same folder, parses only the files that changed."""
    problems: list[Problem] = []
    parsed = _parse_and_validate("", text, problems)
    return parsed, tuple(problems)


def _parse_and_validate(name: str, text: str, problems: list[Problem]) -> _ParsedFile | None:
    loader = _YAML_LOADER(text)
    try:
        # One pass: the node tree (for line numbers and duplicate keys), then the data from it.
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(error, "problem", None) or str(error)
        problems.append(Problem(name, line, "-", f"is not valid YAML: {reason}"))
        return None
    finally:
        loader.dispose()
    problems.extend(_duplicate_keys(name, root))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(Problem(name, 1, "-", "must be a mapping of sections (entries:, ...)"))
        return None
    try:
        content = KnowledgeFile.model_validate(data)
    except ValidationError as error:
        details = error.errors()
        # A misspelt required field is one mistake: "is not a known field (did you mean
        # 'sources'?)" says it, and "sources is required but missing" would only repeat it.
        respelt = {
            (*detail["loc"][:-1], suggestion)
            for detail in details
            if detail["type"] == "extra_forbidden"
            for suggestion in _suggested_fields(tuple(detail["loc"]))
        }
        for detail in details:
            loc = tuple(detail["loc"])
            if detail["type"] == "missing" and loc in respelt:
                continue
            problems.append(
                Problem(
                    name,
                    _line_of(root, loc),
                    _field_name(loc),
                    _message(detail),
                    _within(root, loc),
                )
            )
        return _ParsedFile(name, root, KnowledgeFile(), _declared_ids(data))
    return _ParsedFile(name, root, content)


def _declared_ids(data: dict[Any, Any]) -> dict[str, set[str]]:
    """Every section of a file's raw data, with the ids of its items, valid or not."""
    return {
        str(section): {
            item["id"]
            for item in (items if isinstance(items, list) else ())
            if isinstance(item, dict) and isinstance(item.get("id"), str)
        }
        for section, items in data.items()
    }


def _declared(files: list[_ParsedFile], section: str) -> set[str]:
    return {item_id for parsed in files for item_id in (parsed.declared or {}).get(section, ())}


def _message(detail: Any) -> str:
    kind = detail["type"]
    if kind == "extra_forbidden":
        closest = _suggested_fields(tuple(detail["loc"]))
        if closest:
            return f"is not a known field (did you mean {closest[0]!r}?)"
        return "is not a known field (check its spelling)"
    if kind == "missing":
        return "is required but missing"
    return str(detail["msg"]).replace("Value error, ", "")


def _suggested_fields(loc: tuple[str | int, ...]) -> list[str]:
    """The known field closest in spelling to the unknown one at `loc`, if any is close."""
    return difflib.get_close_matches(str(loc[-1]), _known_fields(loc[:-1]), n=1)


def _known_fields(loc: tuple[str | int, ...]) -> list[str]:
    """The field names allowed at `loc` in a knowledge file, for spelling suggestions."""
    model: Any = KnowledgeFile
    for part in loc:
        if isinstance(part, int):
            continue
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            return []
        model = info.annotation
        while getattr(model, "__args__", None) and not hasattr(model, "model_fields"):
            model = next((a for a in model.__args__ if hasattr(a, "model_fields")), None)
    return list(getattr(model, "model_fields", {}))


def _within(root: yaml.Node | None, loc: Iterable[str | int]) -> str | None:
    """ "entry 'what-is-flask'" (or "question 'size', option 'large'") for the items along
    `loc` that have an id in the YAML, None when there are none."""
    names: list[str] = []
    node, key = root, ""
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
            key = str(part)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if 0 <= part < len(node.value) else None
            if isinstance(child, yaml.MappingNode):
                item_id = next((v.value for k, v in child.value if k.value == "id"), None)
                if isinstance(item_id, str):
                    names.append(f"{_singular(key)} {item_id!r}")
        if child is None:
            break
        node = child
    return ", ".join(names) or None


def _singular(section: str) -> str:
    if section.endswith("ies"):
        return section[:-3] + "y"
    return section[:-1] if section.endswith("s") else section


def _field_name(loc: Iterable[str | int]) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "-"


def _line_of(node: yaml.Node | None, loc: Iterable[str | int]) -> int | None:
    """The 1-based line of the YAML node at `loc`, or of its nearest existing parent."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    child = value
                    line = key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def _duplicate_keys(name: str, node: yaml.Node | None, path: tuple = ()) -> Iterator[Problem]:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                yield Problem(
                    name,
                    key.start_mark.line + 1,
                    _field_name((*path, key.value)),
                    "is given twice in the same mapping",
                )
            seen.add(key.value)
            yield from _duplicate_keys(name, value, (*path, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(name, item, (*path, index))


@dataclass(frozen=True)
class _Placed(Generic[_T]):
    """An item with the file and path it came from, for error messages after merging."""

    item: _T
    file: _ParsedFile
    loc: tuple[str | int, ...]

    def problem(self, *field: str | int, message: str) -> Problem:
        loc = (*self.loc, *field)
        return Problem(
            self.file.path,
            self.file.line_of(loc),
            _field_name(loc),
            message,
            _within(self.file.root, loc),
        )


def _placed(files: list[_ParsedFile], section: str) -> list[_Placed[Any]]:
    return [
        _Placed(item, parsed, (section, index))
        for parsed in files
        for index, item in enumerate(getattr(parsed.content, section))
    ]


def _unique(items: list[_Placed[Any]], what: str, problems: list[Problem]) -> set[str]:
    first: dict[str, _Placed[Any]] = {}
    for placed in items:
        item_id = placed.item.id
        if item_id in first:
            earlier = first[item_id]
            where = f"{earlier.file.path}:{earlier.file.line_of((*earlier.loc, 'id'))}"
            problems.append(
                placed.problem("id", message=f"duplicate {what} id {item_id!r} (first at {where})")
            )
        else:
            first[item_id] = placed
    return set(first)


def _check_refs(
    placed: _Placed[Any],
    field: str,
    known: set[str],
    what: str,
    problems: list[Problem],
) -> None:
    value = getattr(placed.item, field)
    refs = (value,) if isinstance(value, str) else value
    for index, ref in enumerate(refs):
        if ref not in known:
            at = (field,) if isinstance(value, str) else (field, index)
            problems.append(placed.problem(*at, message=f"unknown {what} {ref!r}"))


def _merge(files: list[_ParsedFile], problems: list[Problem], folder: str) -> KnowledgeBase | None:
    sources = _placed(files, "sources")
    frameworks = _placed(files, "frameworks")
    traits = _placed(files, "traits")
    entries = _placed(files, "entries")
    companies = _placed(files, "companies")
    intents = _placed(files, "intents")

    source_ids = _unique(sources, "source", problems)
    framework_ids = _unique(frameworks, "framework", problems)
    trait_ids = _unique(traits, "trait", problems)
    entry_ids = _unique(entries, "entry", problems)
    _unique(companies, "company", problems)
    _unique(intents, "intent", problems)
    for intent in intents:
        _check_placeholders(intent, problems)
    aliases = _merge_aliases(files, problems)

    # Items of files that failed validation count as known, so their problems are not
    # repeated as "unknown ..." wherever other files refer to them.
    source_ids |= _declared(files, "sources")
    framework_ids |= _declared(files, "frameworks")
    trait_ids |= _declared(files, "traits")
    entry_ids |= _declared(files, "entries")
    for framework in frameworks:
        _check_refs(framework, "sources", source_ids, "source", problems)
    for entry in entries:
        _check_refs(entry, "sources", source_ids, "source", problems)
        _check_refs(entry, "related", entry_ids - {entry.item.id}, "related entry", problems)
        _check_empty_phrasings(entry, problems)
    for company in companies:
        _check_refs(company, "framework", framework_ids, "framework", problems)
        _check_refs(company, "sources", source_ids, "source", problems)
        _check_refs(company, "traits", trait_ids, "trait", problems)

    questionnaires = [
        _Placed(parsed.content.questionnaire, parsed, ("questionnaire",))
        for parsed in files
        if parsed.content.questionnaire is not None
    ]
    for extra in questionnaires[1:]:
        problems.append(extra.problem(message="is defined in more than one file"))
    if questionnaires:
        _check_questionnaire(questionnaires[0], framework_ids, trait_ids, problems)
    elif files and not any("questionnaire" in (parsed.declared or {}) for parsed in files):
        problems.append(Problem(folder, None, "questionnaire", "is required in one file"))
    if files and len(framework_ids) < 2:
        problems.append(Problem(folder, None, "frameworks", "at least two frameworks are needed"))
    assistants = [
        _Placed(parsed.content.assistant, parsed, ("assistant",))
        for parsed in files
        if parsed.content.assistant is not None
    ]
    for second in assistants[1:]:
        problems.append(second.problem(message="is defined in more than one file"))

    if problems or not questionnaires:
        return None
    return KnowledgeBase(
        sources=tuple(p.item for p in sources),
        frameworks=tuple(p.item for p in frameworks),
        traits=tuple(p.item for p in traits),
        entries=tuple(p.item for p in entries),
        companies=tuple(p.item for p in companies),
        questionnaire=questionnaires[0].item,
        intents=tuple(p.item for p in intents),
        aliases=aliases,
        anchors=tuple(dict.fromkeys(a for parsed in files for a in parsed.content.anchors)),
        elsewhere=tuple(dict.fromkeys(e for parsed in files for e in parsed.content.elsewhere)),
        other_stacks=tuple(
            dict.fromkeys(e for parsed in files for e in parsed.content.other_stacks)
        ),
        home_languages=tuple(
            dict.fromkeys(e for parsed in files for e in parsed.content.home_languages)
        ),
        names=frozenset(name for parsed in files for name in parsed.content.names),
        assistant=assistants[0].item if assistants else None,
    )


def _merge_aliases(files: list[_ParsedFile], problems: list[Problem]) -> dict[str, str]:
    merged: dict[str, tuple[str, _ParsedFile]] = {}
    for parsed in files:
        for short, long in parsed.content.aliases.items():
            if short in merged and merged[short][0] != long:
                first = merged[short][1].path
                loc = ("aliases", short)
                message = f"is spelled out differently in {first} ({merged[short][0]!r})"
                problems.append(
                    Problem(parsed.path, parsed.line_of(loc), _field_name(loc), message)
                )
            merged.setdefault(short, (long, parsed))
    return {short: long for short, (long, _) in merged.items()}


def _check_placeholders(intent: _Placed[Intent], problems: list[Problem]) -> None:
    for name in _PLACEHOLDER.findall(intent.item.reply):
        if name not in REPLY_PLACEHOLDERS:
            known = ", ".join(f"{{{known}}}" for known in sorted(REPLY_PLACEHOLDERS))
            message = f"unknown placeholder {{{name}}}; a reply may name {known}"
            problems.append(intent.problem("reply", message=message))


def _check_empty_phrasings(entry: _Placed[Entry], problems: list[Problem]) -> None:
    seen: set[str] = set()
    for index, phrasing in enumerate(entry.item.phrasings):
        normal = _normalise(phrasing)
        if not normal:
            problems.append(entry.problem("phrasings", index, message="has no words to match"))
        elif normal in seen:
            problems.append(entry.problem("phrasings", index, message="repeats another phrasing"))
        seen.add(normal)


def _normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _check_questionnaire(
    placed: _Placed[Questionnaire],
    framework_ids: set[str],
    trait_ids: set[str],
    problems: list[Problem],
) -> None:
    question_ids: set[str] = set()
    for q_index, question in enumerate(placed.item.questions):
        q_loc = ("questions", q_index)
        if question.id in question_ids:
            problems.append(
                placed.problem(*q_loc, "id", message=f"duplicate question id {question.id!r}")
            )
        question_ids.add(question.id)
        option_ids: set[str] = set()
        for o_index, option in enumerate(question.options):
            o_loc = (*q_loc, "options", o_index)
            if option.id in option_ids:
                problems.append(
                    placed.problem(*o_loc, "id", message=f"duplicate option id {option.id!r}")
                )
            option_ids.add(option.id)
            for framework_id in option.weights:
                if framework_id not in framework_ids:
                    problems.append(
                        placed.problem(
                            *o_loc,
                            "weights",
                            framework_id,
                            message=f"unknown framework {framework_id!r}",
                        )
                    )
            for t_index, trait_id in enumerate(option.traits):
                if trait_id not in trait_ids:
                    problems.append(
                        placed.problem(
                            *o_loc, "traits", t_index, message=f"unknown trait {trait_id!r}"
                        )
                    )
