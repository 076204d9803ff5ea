"""Which files of an article folder tell one story, so that house-style
learning counts one vote per story, never one per file.

A wire's UPDATE 1 and UPDATE 2, a re-export, a corrected version: several
files, one story.  Counted per file, the sub-headings they share would be in
"3 files and 50% of those read" of a small folder, learned as the house's, and
cut from the story (and from every later story sharing one).  Counted per
story, a line is the house's only when it recurs across different stories.

A file's story is found when its lines are counted, before the pass reads
and deduplicates it, from its text alone: a MinHash signature of the word
triples of its long lines (over MAX_HOUSE_LINE characters: lines that are
never house style, so the folder's furniture does not make unrelated
stories look alike), or of all its lines but the section and headline when
it has too few long ones.  Two files whose signatures agree on at least
SAME_STORY of their values are versions of one story (MinHash: the share of
equal values estimates the share of word triples the two have in common).
The store finds the candidates by LSH band (as dedup does for items); which
story a file joins is decided here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..dedup import fingerprint
from .boilerplate import MAX_HOUSE_LINE

# Signature values per file (dedup's hash functions): all are compared, the
# first BANDS bands of fingerprint.ROWS values are the keys candidates are looked
# up by (two files sharing 0.4 of their word triples share one of 16 bands of
# 2 values 94% of the time).
VALUES = fingerprint.MAX_HASHES
BANDS = 16
# Estimated share of word triples two versions of a story have in common at
# least.  Unrelated stories of the labelled corpus share none of their long
# lines' triples, and at most 0.18 of all their lines'; an update that adds
# a paragraph to a story shares about 0.5, a corrected version or a
# re-export 0.9 to 1.  With 64 values the estimate's spread is about 0.06.
SAME_STORY = 0.3
# Signatures a file is compared with per band it shares (the store reads as
# many): versions are few, and files that all look alike (a template's)
# must not make each new one compare with all of them.
PER_BAND = 8
# Too few word triples to tell a story by.
MIN_SHINGLES = 8
# Fewer words than this in its long lines: a story told in short paragraphs.
MIN_WORDS = 40


@dataclass(frozen=True)
class StoryPrint:
    """What a file's story is recognised by: its signature and its band keys."""

    values: tuple[int, ...]
    bands: tuple[int, ...]


def story_print(text: str, folder: str) -> StoryPrint | None:
    """The print of a file's text (`folder`: its folder's key, part of every
    band key); None when it is too short to tell (it is a story of its own)."""
    lines = [line.strip() for line in text.splitlines()]
    body = [line for line in lines if line][2:]  # not the section and headline: updates rewrite headlines
    chosen = fingerprint.words(" ".join(line for line in body if len(line) > MAX_HOUSE_LINE))
    if len(chosen) < MIN_WORDS:  # short paragraphs: all its lines, furniture and all
        chosen = fingerprint.words(" ".join(body))
    hashes = fingerprint.shingles(chosen[: fingerprint.MAX_WORDS])
    if len(hashes) < MIN_SHINGLES:
        return None
    signature = fingerprint.minhash(hashes, VALUES)
    bands = fingerprint.band_keys(folder, "story", signature[: BANDS * fingerprint.ROWS])
    return StoryPrint(tuple(signature.tolist()), tuple(bands))


def story_name(path: str, found: StoryPrint | None) -> str:
    """The name of a story a file starts."""
    values = " ".join(map(str, found.values)) if found else ""
    return f"{path}#{hashlib.blake2b(values.encode(), digest_size=6).hexdigest()}"


def assign(
    files: Iterable[tuple[str, StoryPrint | None]], known: Iterable[tuple[int, str, tuple[int, ...]]]
) -> dict[str, str]:
    """{path: story} for files (path, print) in the order given: each joins
    the story with the most alike of its files' signatures among those
    sharing a band with it, at SAME_STORY or above (the first of equals,
    stories in key order), or starts a story of its own, named by its path
    and print (so a file edited into another story never names the one it
    left, which may go on with its other versions).
    `known` is (band, story, signature) of the stored files sharing a band
    with any of the files (at most PER_BAND a band); each file given joins
    them once assigned, so versions in one batch find each other."""
    by_band: dict[int, dict[str, list[tuple[int, ...]]]] = {}
    for band, story, values in known:
        by_band.setdefault(band, {}).setdefault(story, []).append(values)
    stories: dict[str, str] = {}
    for path, found in files:
        best, score = None, SAME_STORY
        if found is not None:
            candidates = [(story, signature) for band in found.bands
                          for story, signatures in by_band.get(band, {}).items() for signature in signatures]
            if candidates:
                # All at once: the share of equal values of each candidate's signature.
                shares = (np.array([signature for _, signature in candidates]) == np.array(found.values)).mean(axis=1)
                alike: dict[str, float] = {}
                for (story, _), share in zip(candidates, shares.tolist()):
                    alike[story] = max(alike.get(story, 0.0), share)
                for story in sorted(alike):
                    if alike[story] >= score and (best is None or alike[story] > score):
                        best, score = story, alike[story]
        story = best or story_name(path, found)
        stories[path] = story
        if found is not None:
            for band in found.bands:
                filed = by_band.setdefault(band, {})
                if sum(map(len, filed.values())) < PER_BAND:
                    filed.setdefault(story, []).append(found.values)
    return stories
