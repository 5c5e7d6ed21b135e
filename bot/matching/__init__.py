"""Message -> what it is (bot/matching/matcher.py explains how): an answer from the knowledge,
small talk, a project description read as questionnaire answers, or "not sure"."""

from bot.matching.matcher import (
    DEFAULT_THRESHOLD,
    MIN_MARGIN,
    Ambiguity,
    Candidate,
    Matcher,
    MatchResult,
    Misspelling,
    Understanding,
    find_ambiguities,
    find_misspelled_names,
    matcher_for,
)
from bot.matching.reading import ProjectReading, Signal
from bot.matching.text import clean_text

__all__ = [
    "DEFAULT_THRESHOLD",
    "MIN_MARGIN",
    "Ambiguity",
    "Candidate",
    "MatchResult",
    "Matcher",
    "Misspelling",
    "ProjectReading",
    "Signal",
    "Understanding",
    "clean_text",
    "find_ambiguities",
    "find_misspelled_names",
    "matcher_for",
]
