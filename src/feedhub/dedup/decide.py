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
from .candidates import Candidates, KeyOwner, Match, NearCandidate, Standing
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
UPDATE: Final = "update"
HOLD: Final = "hold"


@dataclass(frozen=True)
class Decision:
    """NEW: file the item as a story of its own.  DUPLICATE: record it as a
    copy of match.item_id.  REPLACE: file it, and make the stored match.item_id
    one of its copies (the new one's source has the better priority).
    UPDATE: record it as a version of match.item_id, and show its text there,
    under the stored story's id and link (a newer version from the same input).
    HOLD: as UPDATE, but the story is out and the version under an embargo
    of its own: record it, and keep it to show at that time (the worker's
    release job asks shows_version again then)."""

    action: Literal["new", "duplicate", "replace", "update", "hold"]
    match: Match | None = None


def decide(
    candidates: Candidates, item: Item, thresholds: Thresholds, fingerprinted: Fingerprint | None = None
) -> Decision:
    """Whether `item` is a new story, a copy of a stored one, the better
    copy of a stored one, or a newer version of it.  Exact keys are tried
    first, in the order keys() gives them (guid, url, text); then the most
    similar near candidate at or above the threshold.  Then:

    - a match from the item's own input (a folder, a source feed) is a version
      of the story: the newer one (by updated, else published time) is shown,
      in place (UPDATE), or at its own embargo if it has one and the story is
      out (HOLD); an older one is only recorded (DUPLICATE);
    - from another input, the first seen stays, unless the later one comes
      from a source with a strictly better (lower) priority; but nothing
      takes the place of a withdrawn story, and a story held for its embargo
      never takes the place of one that is out.

    `fingerprinted` is fingerprint(item) when the caller has it already."""
    owner: KeyOwner | NearCandidate | None
    match, owner = _exact(candidates.keys)
    if match is None and candidates.near:
        found = fingerprinted or fingerprint(item)
        match, owner = _nearest(candidates.near, found, thresholds.near_threshold) if found else (None, None)
    if match is None or owner is None:
        return Decision(NEW)
    return Decision(_action(item, match, owner.priority, owner.standing), match)


def shows_version(item: Item, stored: Standing) -> bool:
    """Whether `item` is a version of the stored story to show in its place:
    from the story's own input, and written no earlier than the version the
    story shows (of two written at once, the one that came later)."""
    return stored.source == item.source and (stored.version is None or item.version_time >= stored.version)


def _action(
    item: Item, match: Match, priority: int | None, stored: Standing
) -> Literal["duplicate", "replace", "update", "hold"]:
    early = item.embargo is not None and not stored.held  # held text for a story that is out
    if stored.source == item.source:
        # The same headline over the same words: a file sent again, nothing new to show.
        again = match.reason == "text" and item.title == stored.title
        if again or not shows_version(item, stored):
            return DUPLICATE
        return HOLD if early else UPDATE
    if stored.withdrawn or early:
        return DUPLICATE
    if priority is not None and item.priority < priority:
        return REPLACE
    return DUPLICATE


def _exact(owners: dict[str, KeyOwner]) -> tuple[Match | None, KeyOwner | None]:
    for kind, reason in EXACT_REASONS.items():  # their order is the order keys are tried in
        owner = owners.get(kind)
        if owner:
            return Match(owner.item_id, kind, 1.0, reason), owner
    return None, None


def _nearest(
    near: list[NearCandidate], found: Fingerprint, threshold: float
) -> tuple[Match | None, NearCandidate | None]:
    """The most similar candidate at or above the threshold, scored on the real
    texts (the first of equals, as the candidates come best band match first)."""
    best, owner = None, None
    for candidate in near:
        other = story_shingles(candidate.title, candidate.text or "")
        score = similarity(found.shingles, other)
        if score >= threshold and (best is None or score > best.score):
            why = f"{explain(found.shingles, other)}; {candidate.hits} LSH bands shared"
            best, owner = Match(candidate.item_id, "near", round(score, 3), why), candidate
    return best, owner
