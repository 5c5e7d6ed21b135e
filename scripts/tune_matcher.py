"""Tune the matcher's weights and thresholds on the TUNING half of the evaluation set only
(and the extra tuning sets, tests/data/*_tuning_messages.yaml, none of which is tested on).

    .venv/bin/python scripts/tune_matcher.py [--show-misses]
    .venv/bin/python scripts/tune_matcher.py --sweep UNANCHORED_EXTRA=0,10,15,20

Prints, for each combination tried, the tuning half's two figures, and the best combination
(the highest lower figure of the two, then the higher sum). The matcher's other constants
(UNANCHORED_EXTRA, FOREIGN_NAME_EXTRA, SENTENCE_MIN_WORDS, PROJECT_MIN_SIGNALS, ...) are
swept one at a time with `--sweep`, the rest as they are in bot/matching/matcher.py. The test
half is never read here: tests/test_message_evaluation.py reports it with the constants as
they are in bot/matching/.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from bot import evaluation
from bot.knowledge import load_knowledge
from bot.matching import lexical, matcher

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SET = DATA / "slack_messages.yaml"
TUNING_SETS = sorted(DATA.glob("*_tuning_messages.yaml"))
"""The sets written for tuning only (more_, fresh_, fourth_ ... twentyfifth_tuning_messages.yaml),
all of them on the tuning side."""

GRID = {
    "UNKNOWN_WORD_SHARE": [0.2, 0.5, 0.7],
    "LEXICAL_SHARE": [0.4, 0.5, 0.6],
    "DEFAULT_THRESHOLD": [54.0, 58.0, 62.0],
    "MIN_MARGIN": [0.0, 0.5, 2.0],
    "INTENT_THRESHOLD": [65.0, 72.0, 80.0],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-misses", action="store_true", help="list the best run's misses")
    parser.add_argument(
        "--sweep",
        metavar="NAME=V1,V2,...",
        help="try each value of one constant of bot/matching/matcher.py instead of the grid",
    )
    args = parser.parse_args()
    kb = load_knowledge()
    cases = [
        *evaluation.split(evaluation.load_cases(SET), "tuning"),
        *(case for path in TUNING_SETS for case in evaluation.load_cases(path)),
    ]
    if args.sweep:
        name, _, values = args.sweep.partition("=")
        if not hasattr(matcher, name) or not values:
            parser.error("--sweep takes NAME=V1,V2 with NAME a constant of bot.matching.matcher")
        for value in values.split(","):
            setattr(matcher, name, type(getattr(matcher, name))(float(value)))
            print(
                f"{name}={value}:",
                evaluation.evaluate(matcher.Matcher(kb), cases, "tuning").summary(),
            )
        return 0
    results = []
    for unknown in GRID["UNKNOWN_WORD_SHARE"]:
        lexical.UNKNOWN_WORD_SHARE = unknown
        base = matcher.Matcher(kb)
        for share, threshold, margin, intent in itertools.product(
            GRID["LEXICAL_SHARE"],
            GRID["DEFAULT_THRESHOLD"],
            GRID["MIN_MARGIN"],
            GRID["INTENT_THRESHOLD"],
        ):
            matcher.LEXICAL_SHARE = share
            matcher.MIN_MARGIN = margin
            matcher.INTENT_THRESHOLD = intent
            base.threshold = threshold
            report = evaluation.evaluate(base, cases, "tuning")
            key = (
                min(report.on_topic_share, report.declined_share),
                report.on_topic_share + report.declined_share,
            )
            results.append((key, (unknown, share, threshold, margin, intent), report))
    results.sort(key=lambda item: item[0], reverse=True)
    print("unknown lexical threshold margin intent | on-topic declined")
    for _, params, report in results[:15]:
        print(
            " ".join(f"{value:>7}" for value in params),
            f"| {report.on_topic_share:.1%} {report.declined_share:.1%}",
        )
    best = results[0]
    print("best:", dict(zip(GRID, best[1], strict=True)), best[2].summary())
    if args.show_misses:
        print("\n".join(best[2].misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
