"""What the store finds under a new item's keys and bands, and what it records
of a match: the types that pass between the store and the decision
(decide.py), so the store needs nothing of the decision itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Candidates scored per new item, best band matches first: bounds the work
# when many stored stories share phrases.
MAX_CANDIDATES = 10


@dataclass(frozen=True)
class Match:
    """A stored item that a new one is the same story as, and why."""

    item_id: str
    reason: str  # guid, url, text or near
    score: float  # 1.0 for exact keys, the similarity for near
    detail: str  # the why, for operators


@dataclass(frozen=True)
class Standing:
    """Where a stored story stands in its life: which input filed it, the
    time of the version it shows, and whether it is withdrawn or held for
    its embargo (issue 26: a newer version from the same input updates it in
    place; nothing takes a withdrawn story's place)."""

    source: str = ""
    version: datetime | None = None  # its updated time, else its published time
    withdrawn: bool = False
    held: bool = False
    title: str = ""  # the headline it shows


@dataclass(frozen=True)
class KeyOwner:
    """The stored item filed under one of the new item's exact keys."""

    item_id: str
    priority: int | None  # its source's priority (None: stored without one)
    standing: Standing = Standing()


@dataclass(frozen=True)
class NearCandidate:
    """A stored item sharing LSH bands with the new one, with its text to score."""

    item_id: str
    title: str
    text: str
    hits: int  # LSH bands shared
    priority: int | None
    standing: Standing = Standing()


@dataclass(frozen=True)
class Candidates:
    """What is stored under a new item's keys and bands."""

    keys: dict[str, KeyOwner]  # key kind (guid, url, text) -> its owner
    near: list[NearCandidate]  # best band matches first, at most MAX_CANDIDATES
