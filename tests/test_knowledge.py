"""The knowledge loader: a valid folder loads; every kind of mistake is reported with its file,
line and field, all at once."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, KnowledgeError, Problem, load_knowledge

SOURCES = """\
sources:
  - id: docs
    title: The docs
    url: https://example.com/docs
"""

FRAMEWORKS = """\
frameworks:
  - id: alpha
    name: Alpha
    summary: A big framework.
    architecture: MVT
    strengths: [Batteries included]
    trade_offs: [Heavier]
    sources: [docs]
  - id: beta
    name: Beta
    summary: A small framework.
    architecture: None imposed
    strengths: [Freedom]
    trade_offs: [More assembly]
    sources: [docs]
traits:
  - id: api-first
    label: API-first
"""

ENTRIES = """\
entries:
  - id: what-is-alpha
    title: What is Alpha?
    phrasings:
      - what is alpha
      - tell me about alpha
      - explain the alpha framework
      - alpha overview
    answer: Alpha is a big framework.
    related: [what-is-beta]
    sources: [docs]
  - id: what-is-beta
    title: What is Beta?
    phrasings:
      - what is beta
      - tell me about beta
      - explain the beta framework
      - beta overview
    answer: Beta is a small framework.
    sources: [docs]
companies:
  - id: acme
    name: Acme
    framework: alpha
    use: Everything
    traits: [api-first]
    sources: [docs]
"""

QUESTIONNAIRE = """\
questionnaire:
  close_call_margin: 2
  questions:
    - id: size
      prompt: How big is it?
      options:
        - id: small
          label: Small
          weights: {beta: 2}
          reason: Small projects suit Beta.
        - id: large
          label: Large
          weights: {alpha: 2}
          reason: Large projects suit Alpha.
          traits: [api-first]
"""

VALID = {
    "sources": SOURCES,
    "frameworks": FRAMEWORKS,
    "entries": ENTRIES,
    "questionnaire": QUESTIONNAIRE,
}


def problems_for(knowledge_dir, **overrides: str) -> list[Problem]:
    folder = knowledge_dir(**{**VALID, **overrides})
    with pytest.raises(KnowledgeError) as raised:
        load_knowledge(folder)
    return raised.value.problems


def test_valid_folder_loads_merged_from_every_file(knowledge_dir) -> None:
    kb = load_knowledge(knowledge_dir(**VALID))

    assert isinstance(kb, KnowledgeBase)
    assert [f.id for f in kb.frameworks] == ["alpha", "beta"]
    assert kb.entry("what-is-beta").title == "What is Beta?"
    assert kb.sources_for(["docs"])[0].url == "https://example.com/docs"
    assert [c.name for c in kb.companies_using("alpha")] == ["Acme"]
    assert kb.companies_using("beta") == ()
    assert kb.questionnaire.question("size").options[1].traits == ("api-first",)


def test_knowledge_is_immutable(knowledge_dir) -> None:
    kb = load_knowledge(knowledge_dir(**VALID))

    with pytest.raises(ValueError):
        kb.entries[0].title = "changed"  # type: ignore[misc]
    assert isinstance(kb.entries[0].phrasings, tuple)


def test_a_file_edited_between_loads_is_read_anew(knowledge_dir) -> None:
    """Parses are remembered by a file's text, so an edit is always seen."""
    folder = knowledge_dir(**VALID)
    assert load_knowledge(folder).entry("what-is-beta").title == "What is Beta?"
    (folder / "entries.yaml").write_text(
        textwrap.dedent(VALID["entries"]).replace("What is Beta?", "Beta, explained"), "utf-8"
    )
    assert load_knowledge(folder).entry("what-is-beta").title == "Beta, explained"


def test_unchanged_knowledge_loads_as_the_same_object_and_an_edit_as_another(
    knowledge_dir,
) -> None:
    folder = knowledge_dir(**VALID)
    first = load_knowledge(folder)
    assert load_knowledge(folder) is first
    (folder / "entries.yaml").write_text(
        textwrap.dedent(VALID["entries"]).replace("What is Beta?", "Beta?"), "utf-8"
    )
    assert load_knowledge(folder) is not first


def test_the_same_broken_text_in_two_folders_names_each_folders_file(
    tmp_path: Path, knowledge_dir
) -> None:
    broken = {**VALID, "entries": VALID["entries"].replace("What is Beta?", "[unclosed", 1)}
    first = knowledge_dir(**broken)
    second = tmp_path / "second"
    second.mkdir()
    for path in first.glob("*.yaml"):
        (second / path.name).write_text(path.read_text("utf-8"), "utf-8")
    for folder in (first, second):
        with pytest.raises(KnowledgeError) as raised:
            load_knowledge(folder)
        assert {Path(p.file).parent for p in raised.value.problems} == {folder}


def test_shipped_knowledge_loads(kb: KnowledgeBase) -> None:
    assert len(kb.frameworks) >= 2
    assert kb.entries


@pytest.mark.parametrize(
    ("file", "old", "new", "line", "field", "message"),
    [
        pytest.param(
            "entries",
            "    title: What is Beta?",
            "    titel: What is Beta?",
            13,
            "entries[1].titel",
            "not a known field",
            id="unknown-field",
        ),
        pytest.param(
            "entries",
            "    answer: Beta is a small framework.\n",
            "",
            12,
            "entries[1].answer",
            "required",
            id="missing-field",
        ),
        pytest.param(
            "questionnaire",
            "close_call_margin: 2",
            "close_call_margin: lots",
            2,
            "questionnaire.close_call_margin",
            "number",
            id="wrong-type",
        ),
        pytest.param(
            "entries",
            "      - alpha overview\n",
            "",
            4,
            "entries[0].phrasings",
            "at least 4",
            id="too-few-phrasings",
        ),
        pytest.param(
            "entries",
            "      - beta overview",
            "      - '!!!'",
            18,
            "entries[1].phrasings[3]",
            "no words",
            id="phrasing-without-words",
        ),
        pytest.param(
            "entries",
            "      - beta overview",
            "      - What is BETA?",
            18,
            "entries[1].phrasings[3]",
            "repeats",
            id="repeated-phrasing",
        ),
        pytest.param(
            "entries",
            "related: [what-is-beta]",
            "related: [what-is-gamma]",
            10,
            "entries[0].related[0]",
            "unknown related entry 'what-is-gamma'",
            id="unknown-entry",
        ),
        pytest.param(
            "entries",
            "    sources: [docs]\ncompanies",
            "    sources: [blog]\ncompanies",
            20,
            "entries[1].sources[0]",
            "unknown source 'blog'",
            id="unknown-source",
        ),
        pytest.param(
            "entries",
            "    framework: alpha",
            "    framework: gamma",
            24,
            "companies[0].framework",
            "unknown framework 'gamma'",
            id="unknown-framework",
        ),
        pytest.param(
            "entries",
            "    traits: [api-first]",
            "    traits: [api-last]",
            26,
            "companies[0].traits[0]",
            "unknown trait 'api-last'",
            id="unknown-company-trait",
        ),
        pytest.param(
            "questionnaire",
            "weights: {beta: 2}",
            "weights: {gamma: 2}",
            9,
            "questionnaire.questions[0].options[0].weights.gamma",
            "unknown framework",
            id="unknown-weight-framework",
        ),
        pytest.param(
            "questionnaire",
            "          traits: [api-first]",
            "          traits: [nope]",
            15,
            "questionnaire.questions[0].options[1].traits[0]",
            "unknown trait 'nope'",
            id="unknown-option-trait",
        ),
        pytest.param(
            "entries",
            "  - id: what-is-beta",
            "  - id: what-is-alpha",
            12,
            "entries[1].id",
            "duplicate entry id 'what-is-alpha'",
            id="duplicate-id",
        ),
        pytest.param(
            "questionnaire",
            "        - id: large",
            "        - id: small",
            11,
            "questionnaire.questions[0].options[1].id",
            "duplicate option id",
            id="duplicate-option",
        ),
        pytest.param(
            "sources",
            "    title: The docs\n",
            "    title: The docs\n    title: Again\n",
            4,
            "sources[0].title",
            "given twice",
            id="duplicate-key",
        ),
        pytest.param(
            "sources",
            "url: https://example.com/docs",
            "url: example.com/docs",
            4,
            "sources[0].url",
            "pattern",
            id="bad-url",
        ),
        pytest.param(
            "entries",
            "    title: What is Beta?",
            "\ttitle: What is Beta?",
            13,
            "-",
            "not valid YAML",
            id="yaml-syntax",
        ),
    ],
)
def test_each_mistake_is_named_with_file_line_and_field(
    knowledge_dir, file: str, old: str, new: str, line: int, field: str, message: str
) -> None:
    assert old in VALID[file], "the test's edit must apply"
    problems = problems_for(knowledge_dir, **{file: VALID[file].replace(old, new, 1)})

    assert [(Path(p.file).name, p.line, p.field) for p in problems if message in p.message] == [
        (f"{file}.yaml", line, field)
    ], problems


def test_duplicate_ids_across_files_point_at_the_first(knowledge_dir) -> None:
    extra = SOURCES.replace("The docs", "Other docs")
    problems = problems_for(knowledge_dir, z_sources=extra)

    (problem,) = problems
    assert Path(problem.file).name == "z_sources.yaml"
    assert problem.field == "sources[0].id"
    assert "duplicate source id 'docs'" in problem.message
    assert "sources.yaml:2" in problem.message


def test_every_problem_is_reported_together(knowledge_dir) -> None:
    problems = problems_for(
        knowledge_dir,
        sources=SOURCES.replace("    title: The docs\n", "    colour: blue\n"),
        entries=ENTRIES.replace("[what-is-beta]", "[nowhere]"),
        questionnaire=QUESTIONNAIRE.replace("{alpha: 2}", "{gamma: 2}"),
    )

    fields = {(Path(p.file).name, p.field) for p in problems}
    assert {
        ("sources.yaml", "sources[0].colour"),
        ("sources.yaml", "sources[0].title"),
        ("entries.yaml", "entries[0].related[0]"),
        ("questionnaire.yaml", "questionnaire.questions[0].options[1].weights.gamma"),
    } <= fields


def test_error_text_lists_every_problem_as_file_line_field(knowledge_dir) -> None:
    folder = knowledge_dir(**{**VALID, "entries": ENTRIES.replace("[what-is-beta]", "[x]")})
    with pytest.raises(KnowledgeError) as raised:
        load_knowledge(folder)

    text = str(raised.value)
    assert text.startswith("1 problem in the knowledge:")
    assert f"{folder / 'entries.yaml'}:10: entries[0].related[0]: unknown related entry 'x'" in text


@pytest.mark.parametrize(
    ("files", "field", "message"),
    [
        ({k: v for k, v in VALID.items() if k != "questionnaire"}, "questionnaire", "required"),
        ({**VALID, "again": QUESTIONNAIRE}, "questionnaire", "more than one file"),
        (
            {**VALID, "frameworks": FRAMEWORKS.split("  - id: beta")[0] + "traits: []\n"},
            "frameworks",
            "at least two",
        ),
        ({**VALID, "list": "- just\n- a list\n"}, "-", "must be a mapping"),
    ],
    ids=["no-questionnaire", "two-questionnaires", "one-framework", "not-a-mapping"],
)
def test_folder_level_mistakes(knowledge_dir, files: dict, field: str, message: str) -> None:
    with pytest.raises(KnowledgeError) as raised:
        load_knowledge(knowledge_dir(**files))

    assert any(p.field == field and message in p.message for p in raised.value.problems), (
        raised.value.problems
    )


@pytest.mark.parametrize("setup", ["missing", "empty"])
def test_a_folder_without_knowledge_is_an_error(tmp_path: Path, setup: str) -> None:
    folder = tmp_path / "knowledge"
    if setup == "empty":
        folder.mkdir()

    with pytest.raises(KnowledgeError) as raised:
        load_knowledge(folder)

    assert raised.value.problems[0].file == str(folder)
