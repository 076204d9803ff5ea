"""The labelled near-duplicate evaluation set, built from bench/data/stories.yaml.

Deterministic: the same stories file always gives the same pairs, in the same
order.  Each pair is (stored copy, arriving copy, same story?, kind).

Same story (positives), for every base story:
- new-headline:        another headline, same body
- reworded-lead:       the first paragraph written again in other words
- boilerplate-added:   byline and footer lines a partner site adds
- boilerplate-removed: the stored copy carried inline clutter, the new one is clean
- summary:             another headline and only the first paragraph
- summary-cut:         the first ~35 words, "via" credit and an ellipsis
- combined:            new headline, reworded lead and a footer at once

Different stories on the same topic (negatives), for every two stories of a
topic: the two originals, and each original against the other's new-headline,
boilerplate-added and summary copies.

Run it to write the pairs as JSON lines (for reading them, not needed by the bench):
    python bench/near_dups.py > pairs.jsonl
"""

from __future__ import annotations

import itertools
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

STORIES = Path(__file__).parent / "data" / "stories.yaml"

BYLINES = [
    "By our staff reporter | Updated 12 minutes ago",
    "Reporting by the world desk; editing by the night team",
    "Listen to this article (4 min)",
    "From our correspondent, with agencies",
]
FOOTERS = [
    "Sign up to The Morning Briefing, our free newsletter with the day's top stories.",
    "Copyright 2026 Harbour Media Group. All rights reserved. This material may not be redistributed.",
    "Have a story we should look into? Write to the newsroom, we read every message.",
    "This article was amended on the day of publication to correct the spelling of a name.",
]
CREDITS = ["Via World Wire:", "From the agencies:", "Syndicated from The Coastal Post:"]


@dataclass
class Copy:
    title: str
    paragraphs: list[str]

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass
class Pair:
    stored: Copy
    arriving: Copy
    same: bool
    kind: str
    topic: str


def load_topics(path: Path = STORIES) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rewrites(story: dict, n: int, related: str) -> dict[str, tuple[Copy, Copy]]:
    """(stored, arriving) copies of one story, by kind of rewrite."""
    head, alt, body, lead = story["headline"], story["alt_headline"], story["paragraphs"], story["alt_lead"]
    byline, footer, credit = BYLINES[n % len(BYLINES)], FOOTERS[n % len(FOOTERS)], CREDITS[n % len(CREDITS)]
    original = Copy(head, body)
    cluttered = Copy(head, [body[0], "Advertisement", body[1], f"Related: {related}", *body[2:], "Back to top"])
    first_words = " ".join(body[0].split()[:35])
    return {
        "new-headline": (original, Copy(alt, body)),
        "reworded-lead": (original, Copy(head, [lead, *body[1:]])),
        "boilerplate-added": (original, Copy(head, [byline, *body, footer])),
        "boilerplate-removed": (cluttered, original),
        "summary": (original, Copy(alt, [body[0]])),
        "summary-cut": (original, Copy(head, [f"{credit} {first_words} …"])),
        "combined": (original, Copy(alt, [lead, *body[1:], footer])),
    }


def pairs(path: Path = STORIES) -> list[Pair]:
    found: list[Pair] = []
    n = 0
    for topic in load_topics(path):
        stories = topic["stories"]
        copies = []
        for index, story in enumerate(stories):
            other = stories[(index + 1) % len(stories)]
            kinds = rewrites(story, n, other["headline"])
            copies.append(kinds)
            found += [Pair(s, a, True, kind, topic["topic"]) for kind, (s, a) in kinds.items()]
            n += 1
        for a, b in itertools.combinations(range(len(stories)), 2):
            original_a, original_b = copies[a]["new-headline"][0], copies[b]["new-headline"][0]
            found.append(Pair(original_a, original_b, False, "other-story", topic["topic"]))
            for x, y in ((a, b), (b, a)):
                for kind in ("new-headline", "boilerplate-added", "summary"):
                    found.append(Pair(copies[x]["new-headline"][0], copies[y][kind][1], False, f"other-story {kind}", topic["topic"]))
    return found


if __name__ == "__main__":
    for pair in pairs():
        sys.stdout.write(json.dumps(asdict(pair), ensure_ascii=False) + "\n")
