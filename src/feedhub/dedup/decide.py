"""Whether an item is a new story, a copy of a stored one, or the better copy.

The filing step (ingest/filing.py) gathers what the store holds under a new
item's keys and bands (candidates.py), asks ``decide``, and has the store apply
the Decision, all in one write transaction; what makes an item a copy, and
which copy is kept, is decided here alone, from plain values: no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from ..model import Item
from .candidates import Candidates, KeyOwner, Match, NearCandidate
from .fingerprint import Fingerprint, fingerprint, story_shingles

# The share of the shorter text's shingles that must be in the other, unless
# the category sets its own near_duplicate_threshold; see config.Category.
DEFAULT_THRESHOLD = 0.5
# Similarity is measured against the shorter text, but never against fewer
# shingles than this, so two short blurbs need more than a shared phrase.
SMALL_TEXT = 20

# Why an exact key match means the same story.
EXACT_REASONS = {
    "guid": "same guid",
    "url": "same link once tracking parameters are removed",
    "text": "same text once case, accents and punctuation are folded",
}


def similarity(a: set[int], b: set[int]) -> float:
    """Share of the shorter text's shingles found in the other text (1.0: the
    shorter one is wholly inside the longer one, as a summary is)."""
    if not a or not b:
        return 0.0
    return len(a & b) / max(min(len(a), len(b)), SMALL_TEXT)


def explain(a: set[int], b: set[int]) -> str:
    """Why two texts matched, in words an operator can check."""
    shared, shorter = len(a & b), min(len(a), len(b))
    return f"{shared} of the shorter text's {shorter} word triples are in the other"


@dataclass(frozen=True)
class Thresholds:
    """A category's dedup settings: how similar a near copy must be."""

    near_threshold: float = DEFAULT_THRESHOLD


NEW: Final = "new"
DUPLICATE: Final = "duplicate"
REPLACE: Final = "replace"


@dataclass(frozen=True)
class Decision:
    """NEW: file the item as a story of its own.  DUPLICATE: record it as a
    copy of match.item_id.  REPLACE: file it, and make the stored match.item_id
    one of its copies (the new one's source has the better priority)."""

    action: Literal["new", "duplicate", "replace"]
    match: Match | None = None


def decide(
    candidates: Candidates, item: Item, thresholds: Thresholds, fingerprinted: Fingerprint | None = None
) -> Decision:
    """Whether `item` is a new story, a copy of a stored one, or the better
    copy of a stored one.  Exact keys are tried first, in the order keys()
    gives them (guid, url, text); then the most similar near candidate at or
    above the threshold.  Of two copies the first seen stays, unless the later
    one comes from a source with a strictly better (lower) priority.
    `fingerprinted` is fingerprint(item) when the caller has it already."""
    match, priority = _exact(candidates.keys)
    if match is None and candidates.near:
        found = fingerprinted or fingerprint(item)
        match, priority = _nearest(candidates.near, found, thresholds.near_threshold) if found else (None, None)
    if match is None:
        return Decision(NEW)
    if priority is not None and item.priority < priority:
        return Decision(REPLACE, match)
    return Decision(DUPLICATE, match)


def _exact(owners: dict[str, KeyOwner]) -> tuple[Match | None, int | None]:
    for kind, reason in EXACT_REASONS.items():  # their order is the order keys are tried in
        owner = owners.get(kind)
        if owner:
            return Match(owner.item_id, kind, 1.0, reason), owner.priority
    return None, None


def _nearest(near: list[NearCandidate], found: Fingerprint, threshold: float) -> tuple[Match | None, int | None]:
    """The most similar candidate at or above the threshold, scored on the real
    texts (the first of equals, as the candidates come best band match first)."""
    best, priority = None, None
    for candidate in near:
        other = story_shingles(candidate.title, candidate.text or "")
        score = similarity(found.shingles, other)
        if score >= threshold and (best is None or score > best.score):
            why = f"{explain(found.shingles, other)}; {candidate.hits} LSH bands shared"
            best, priority = Match(candidate.item_id, "near", round(score, 3), why), candidate.priority
    return best, priority
