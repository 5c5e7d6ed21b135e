"""From a Slack message to the words the matchers compare: markup removed in linear time,
sentences, content words and their stems.

Every pattern here is linear in the length of the text: no pattern can backtrack over a run of
adjacent tokens (`:a::a::a:…`, `<x|<x|<x|…`), and the text is cut to `MAX_RAW_CHARS` before any
pattern runs, so a hostile 40 KB message costs what a long real one does.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

import Stemmer
from rapidfuzz import utils

MAX_RAW_CHARS = 4000
"""Raw characters read from a message before clean-up: four times the longest question the
bot answers, so markup (long link targets, mention ids) cannot push the words out."""

MAX_CLEAN_CHARS = 1000
"""Characters of cleaned text matched: no real question is longer."""

MIN_WORD_LENGTH = 2

# Function words and chat filler, dropped before lexical matching. "when" and "who" are not
# among them: they carry the intent of "when to choose ..." and "who uses ...". Why not a
# packaged list: the `stop-words` package's English list (1,333 words) also drops "auth",
# "test", "small", "large", "web", "page", "site", "index" and "dj", which are exactly the
# words that tell this knowledge's topics apart. Measured on the evaluation's tuning half, that
# list (less "when" and "who") answers 83.2% of on-topic messages right; this one 91.3%. The
# last line is how Slack messages open ("dumb question, but ...", "genuinely curious"): rare in
# the knowledge, so as content words they outweighed the topic.
_FUNCTION_WORDS = """
    a about actually after all also am an and any anybody anyone are as at be been being both
    but by can could did do does doing done each else even ever exactly for from get gets got
    had has have having he hello help her here hey hi hiya his how i if in into is it its just
    let lets like me might more most much must my need needs no not now of ok okay on one ones or
    our out over please pls plz really should so some someone something still such sure than
    thank thanks that the their them then there these they thing things this those thx to too
    u us very vs versus via want was way we well were what whats where whether which while whom
    whose why will with would yeah yes yet you your im ive were weve theyre dont doesnt cant
    folks guys team everyone anyone tbh imo imho btw fyi hmm ah oh lol
    question quick dumb stupid silly curious wondering genuinely honestly basically literally
"""
STOPWORDS = frozenset(_FUNCTION_WORDS.split())

_MENTION = re.compile(r"<[@#!][^<>]*>")
"""User, channel and special mentions (`<@U123>`, `<#C123|general>`, `<!here>`,
`<!subteam^S1|@devs>`): never part of a question, and never echoed."""
_LABELLED_LINK = re.compile(r"<[^<>|\s]+\|([^<>]*)>")
_BARE_LINK = re.compile(r"<[^<>\s]*>")
_EMOJI_RUN = re.compile(r"(?<![\w:])(?::[a-z0-9_+'-]+:)+(?!\w)")
"""`:wave:` and runs such as `:wave::skin-tone-2:` in one match; a colon-delimited run can be
matched only from its first colon (the look-behind), so no run is rescanned."""
_SPACES = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")

_STEMMER = Stemmer.Stemmer("english")


def clean_lines(text: str) -> str:
    """Remove Slack markup: mentions, <!here>/<!channel>/user groups, emoji and bare links;
    keep a link's label; unescape &amp; &lt; &gt;; collapse spaces within a line (line breaks
    are kept: they end sentences)."""
    text = text[:MAX_RAW_CHARS]
    text = _MENTION.sub(" ", text)
    text = _LABELLED_LINK.sub(r" \1 ", text)
    text = _BARE_LINK.sub(" ", text)
    text = _EMOJI_RUN.sub(" ", text)
    text = html.unescape(text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)[:MAX_CLEAN_CHARS]


def clean_text(text: str) -> str:
    """`clean_lines` on a single line: what is matched as a whole, shown and stored."""
    return _SPACES.sub(" ", clean_lines(text)).strip()


def sentences(cleaned: str) -> list[str]:
    """The sentences of cleaned text (split at . ! ? followed by a space, and at line breaks)."""
    return [part.strip() for part in _SENTENCE_END.split(cleaned) if part.strip()]


_JOINED_BY_PLUS = re.compile(r"(?<=\w)\+(?=\w)")


def words(text: str) -> list[str]:
    """Lower-cased words without punctuation, every word kept; "n+1" is one word ("nplus1")."""
    return utils.default_process(_JOINED_BY_PLUS.sub("plus", text)).split()


def content_words(text: str) -> list[str]:
    """The words that carry a question's topic: no function words, no one-letter words."""
    return [word for word in words(text) if len(word) >= MIN_WORD_LENGTH and word not in STOPWORDS]


_INFLECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ies", ("y",)),
    ("ation", ("ate", "")),
    ("ing", ("", "e")),
    ("ed", ("", "e")),
    ("es", ("", "e")),
    ("s", ("",)),
)
"""Suffixes of English inflections, and what may replace each to give the base form."""


def base_forms(word: str) -> list[str]:
    """Candidate base forms of an inflected English word, for telling a word of the language
    from a product's name when only base forms are listed: "quizzes" -> "quiz", "moderation"
    -> "moderate", "forwarding" -> "forward". Candidates only: not every one is a word."""
    found: list[str] = []
    for suffix, replacements in _INFLECTIONS:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            base = word[: -len(suffix)]
            found.extend(base + replacement for replacement in replacements)
            if len(base) > 2 and base[-1] == base[-2]:  # "quizz-es", "stopp-ed"
                found.append(base[:-1])
    return found


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball (Porter 2) English stem: "migrations" and "migrate" meet as "migrat"."""
    return str(_STEMMER.stemWord(word))
