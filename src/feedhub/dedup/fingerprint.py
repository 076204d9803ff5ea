"""What the store indexes to find copies of a story: keys and fingerprints.

An item is reduced to a few *keys*; two items in one category that share a key
are the same story.  The store keeps the keys in an indexed table, so finding a
match is one indexed lookup per key, however many items are stored.

Exact keys:
- ``guid``: the source's own id for the entry, when it is globally unique;
- ``url``: the canonical link, with tracking parameters and fragments removed;
- ``text``: a hash of the normalised body text.

Near duplicates (rewrites of a story) are found after the exact keys, with
MinHash signatures filed by LSH band; see below.

Everything here is worked out from the item alone (``prepare``), so it can be
done on another core; the store files it and looks it up (store/items.py), and
what a match means is decided in decide.py, which the store never imports.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np

from ..model import Item

# Query parameters that only say who shared a link, never what it points at.
TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|yclid|_hsenc|_hsmi|mkt_tok|ref_src|cmpid)$",
    re.IGNORECASE,
)

# Below this many words a body is too generic ("Read more") to identify a story
# on its own, so the headline is hashed with it.
MIN_BODY_WORDS = 30


def canonical_url(url: str) -> str:
    """The form of a link that two copies of the same page share."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # a bad port or IPv6 address: still a key, just not cleaned
        return url.strip()
    if not parts.scheme or not parts.netloc:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMS.match(k)
    )
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, urlencode(query), ""))


WORD = re.compile(r"[^\W_]+")
NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# For ASCII text: every byte that is not a letter or digit becomes a space, so
# a plain split() finds what WORD would (4x faster than the Unicode regex).
_ASCII_SPACES = bytes(c if chr(c).isalnum() and c < 128 else 32 for c in range(256))


def words(text: str) -> list[str]:
    """Lower-case words with accents, punctuation and typography folded away."""
    # Folding accents is a Python-level loop over characters and dominated
    # ingest time, so it is only done where it can change something: not at
    # all for ASCII text, only on the non-ASCII runs of mostly-ASCII text
    # (curly quotes, the odd accented name), on everything otherwise.
    if text.isascii():
        return text.lower().encode().translate(_ASCII_SPACES).decode().split()
    if len(text.encode()) - len(text) < len(text) // 8:
        text = NON_ASCII.sub(lambda run: _fold_accents(run.group()), text)
    else:
        text = _fold_accents(text)
    return WORD.findall(text.casefold())


def _fold_accents(text: str) -> str:
    # NFKD works character by character (reordering only runs of combining
    # marks), so folding a run on its own gives what folding the whole would.
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _text_hash(title_words: list[str], body_words: list[str]) -> str:
    if len(body_words) < MIN_BODY_WORDS:
        body_words = title_words + body_words
    return hashlib.sha256(" ".join(body_words).encode()).hexdigest()


def looks_global(guid: str) -> bool:
    """True for a guid that can name a story across sources (a URI or a long
    opaque id); a short one like "1234" is only unique inside its own feed."""
    return ":" in guid or len(guid) >= 20


def item_words(item: Item) -> tuple[list[str], list[str]]:
    """(headline words, body words): what keys() and fingerprint() both need,
    split once per item when passed to them."""
    return words(item.title), words(item.text)


def keys(item: Item, tokens: tuple[list[str], list[str]] | None = None) -> list[tuple[str, str]]:
    """The keys under which an item is filed in its category; `tokens` is
    item_words(item) when the caller has it already."""
    title_words, body_words = tokens or item_words(item)
    found = []
    if looks_global(item.guid):
        found.append(("guid", item.guid))
    if item.link:
        found.append(("url", canonical_url(item.link)))
    if title_words or body_words:
        found.append(("text", _text_hash(title_words, body_words)))
    return found


# -- near duplicates -----------------------------------------------------------
#
# A story rewritten by another desk (new headline, reworded first paragraph,
# boilerplate added or cut, trimmed to a summary) keeps most of its word
# triples ("shingles").  Each item gets MinHash signatures of its shingles,
# cut into LSH bands; a band is hashed to one integer and filed in an indexed
# table.  Two texts whose shingles overlap a lot very probably share a band, so
# the candidates for a new item are found with one indexed lookup of its band
# keys, whatever the number of stored items, and only those few candidates are
# scored exactly.
#
# Two signatures per item: one of headline + body (catches rewrites of any
# part) and one of the body's opening words (catches a copy cut down to its
# first paragraph, whose shingles are a small part of the full story's).

# Changing SHINGLE_WORDS, LEAD_WORDS, ROWS, SIGNATURES or the hash functions
# changes every band key: stored items would no longer be found, so such a
# change needs a migration that signs the stored items again (one that calls
# store.schema.sign_again).
SHINGLE_WORDS = 3
LEAD_WORDS = 30
# Signature values per band.  With 2, two texts share a band more easily
# than with 3, so fewer bands catch the same rewrites: 12 + 6 of 2 values
# (18 band rows per item, 24 hash functions) find what 20 + 10 of 3 values
# (30 rows, 60 functions) found on bench/dedup.py, with no more false matches.
# Filing and looking up band rows was over a quarter of a first ingest's
# main thread (issue 18).
# The unrelated texts that now share a band more often cost one exact score
# each, bounded by MAX_CANDIDATES (candidates.py).
ROWS = 2
SIGNATURES = {"full": 12, "lead": 6}  # kind -> number of bands
# An item with fewer shingles than this is too short to call a near duplicate.
MIN_SHINGLES = 8
# Only this much of a body is compared: two texts alike over their first
# 5,000 words are one story, and a huge body cannot blow up the signature
# matrix (shingles x hash functions).
MAX_WORDS = 5000

# Hash functions h(x) = (a*x + b) mod P with a, b, x below the Mersenne prime
# P = 2**31 - 1: a*x + b stays under 2**62, exact in uint64 arithmetic.  (With a
# small multiplier and a much larger modulus the "permutations" would barely
# wrap, all order shingles alike, and the signature values would agree or
# disagree together.)
_PRIME = (1 << 31) - 1


def _coefficients(count: int) -> tuple[np.ndarray, np.ndarray]:
    # Derived from fixed strings, not a random generator, so the band keys
    # stored in a database stay valid across numpy versions and machines.
    a, b = [], []
    for i in range(count):
        digest = hashlib.blake2b(f"feedhub-minhash-{i}".encode(), digest_size=8).digest()
        a.append(int.from_bytes(digest[:4], "big") % (_PRIME - 1) + 1)
        b.append(int.from_bytes(digest[4:], "big") % _PRIME)
    return np.array(a, dtype=np.uint64), np.array(b, dtype=np.uint64)


# Enough for dedup's signatures and for the story prints of house-style
# learning (articles/stories.py: 64); each function is fixed by its index, so
# adding more changes none of the band keys above.
MAX_HASHES = 64
_A, _B = _coefficients(max(max(SIGNATURES.values()) * ROWS, MAX_HASHES))


def shingles(tokens: list[str]) -> set[int]:
    """Hashes (below P) of every run of SHINGLE_WORDS words (one run if shorter)."""
    return set(_shingle_hashes(tokens).tolist())


def _shingle_hashes(tokens: list[str]) -> np.ndarray:
    """The shingle hashes as an array, repeats included (they change no minimum)."""
    runs: Iterable[bytes]
    if len(tokens) <= SHINGLE_WORDS:
        runs = [" ".join(tokens).encode()] if tokens else []
    else:
        # Each word encoded once, and the runs joined and hashed by map():
        # no Python-level step per word triple (this runs for every word of
        # every item stored, and was a fifth of ingest time as a set
        # comprehension).  The hashes are those of " ".join(run).encode().
        encoded = list(map(str.encode, tokens))
        runs = map(b" ".join, zip(*(encoded[k:] for k in range(SHINGLE_WORDS))))
    count = max(len(tokens) - SHINGLE_WORDS + 1, 1) if tokens else 0
    # numpy types arithmetic on arrays as Any: the name says what it is.
    hashes: np.ndarray = np.fromiter(map(zlib.crc32, runs), dtype=np.uint64, count=count) % np.uint64(_PRIME)
    return hashes


def minhash(hashes: set[int] | np.ndarray, count: int) -> np.ndarray:
    """The MinHash signature: for each of `count` hash functions, the least value."""
    if not isinstance(hashes, np.ndarray):
        hashes = np.fromiter(hashes, dtype=np.uint64, count=len(hashes))
    signature: np.ndarray = _permuted(hashes, count).min(axis=0)
    return signature


def _permuted(values: np.ndarray, count: int) -> np.ndarray:
    """Each value under each of the first `count` hash functions (values x functions)."""
    # In place: one matrix instead of three.
    matrix: np.ndarray = np.multiply.outer(values, _A[:count])
    matrix += _B[:count]
    np.remainder(matrix, np.uint64(_PRIME), out=matrix)
    return matrix


@functools.lru_cache(maxsize=256)
def _band_hashers(category: str, kind: str, bands: int) -> tuple[hashlib.blake2b, ...]:
    # The per-band prefix (category, kind, band) hashed once per category and
    # copied for each item, instead of formatted and hashed for every band of
    # every item.
    return tuple(
        hashlib.blake2b(f"{category}\x1f{kind}\x1f{band}".encode(), digest_size=8) for band in range(bands)
    )


def band_keys(category: str, kind: str, signature: np.ndarray) -> list[int]:
    """One signed 64-bit key per band; the category is part of the key, so
    stories only ever meet candidates from their own category."""
    values = signature.astype(np.uint64, copy=False).tobytes()
    width = ROWS * 8  # bytes of one band's signature values
    keys = []
    for band, prefix in enumerate(_band_hashers(category, kind, len(signature) // ROWS)):
        digest = prefix.copy()
        digest.update(values[band * width : (band + 1) * width])
        keys.append(int.from_bytes(digest.digest(), "big", signed=True))
    return keys


@dataclass
class Fingerprint:
    hashes: np.ndarray  # shingle hashes of headline + body, repeats included
    bands: list[int]  # LSH band keys of both signatures

    @functools.cached_property
    def shingles(self) -> set[int]:
        """The shingles as a set, for the exact score: built only for an item
        that has candidates to be scored against (most have none)."""
        return set(self.hashes.tolist())


def story_shingles(title: str, text: str) -> set[int]:
    return shingles(words(title) + words(text)[:MAX_WORDS])


def fingerprint(item: Item, tokens: tuple[list[str], list[str]] | None = None) -> Fingerprint | None:
    """The item's shingles and band keys; None if it is too short to compare.
    `tokens` is item_words(item) when the caller has it already."""
    title_words, body = tokens or item_words(item)
    body = body[:MAX_WORDS]
    hashes = _shingle_hashes(title_words + body)
    if not _enough_shingles(hashes):
        return None
    matrix = _permuted(hashes, max(SIGNATURES.values()) * ROWS)
    bands = band_keys(item.category, "full", matrix[:, : SIGNATURES["full"] * ROWS].min(axis=0))
    # The lead's word triples are rows of the full matrix already: those that
    # start in the body's first LEAD_WORDS words (too few for a lead signature
    # when the body is that short that they would be joined as one run).
    lead = slice(len(title_words), len(title_words) + min(len(body), LEAD_WORDS) - SHINGLE_WORDS + 1)
    if _enough_shingles(hashes[lead]):
        bands += band_keys(item.category, "lead", matrix[lead, : SIGNATURES["lead"] * ROWS].min(axis=0))
    return Fingerprint(hashes, bands)


class Prepared(NamedTuple):
    """All of comparing an item that needs nothing stored: worked out ahead,
    on another core, in a large ingest."""

    keys: list[tuple[str, str]]
    fingerprint: Fingerprint | None


def prepare(item: Item) -> Prepared:
    tokens = item_words(item)
    return Prepared(keys(item, tokens), fingerprint(item, tokens))


def _enough_shingles(hashes: np.ndarray) -> bool:
    """At least MIN_SHINGLES different shingles; a few dozen are enough to tell,
    so a long story is not made into a set just to be counted."""
    head = hashes[: 8 * MIN_SHINGLES].tolist()
    return len(set(head)) >= MIN_SHINGLES or (len(hashes) > len(head) and len(set(hashes.tolist())) >= MIN_SHINGLES)
