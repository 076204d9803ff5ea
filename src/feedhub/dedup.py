"""What makes two items the same story.

An item is reduced to a few *keys*; two items in one category that share a key
are the same story.  The store keeps the keys in an indexed table, so finding a
match is one indexed lookup per key, however many items are stored.

Exact keys (this module):
- ``guid``: the source's own id for the entry, when it is globally unique;
- ``url``: the canonical link, with tracking parameters and fragments removed;
- ``text``: a hash of the normalised body text.

Near duplicates (rewrites of a story) are found after the exact keys, with
MinHash signatures filed by LSH band; see below.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np

from .items import Item

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


def words(text: str) -> list[str]:
    """Lower-case words with accents, punctuation and typography folded away."""
    # Folding accents is a Python-level loop over characters and dominated
    # ingest time, so it is only done where it can change something: not at
    # all for ASCII text, only on the non-ASCII runs of mostly-ASCII text
    # (curly quotes, the odd accented name), on everything otherwise.
    if not text.isascii():
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


def text_hash(title: str, body: str) -> str:
    body_words = words(body)
    if len(body_words) < MIN_BODY_WORDS:
        body_words = words(title) + body_words
    return hashlib.sha256(" ".join(body_words).encode()).hexdigest()


def looks_global(guid: str) -> bool:
    """True for a guid that can name a story across sources (a URI or a long
    opaque id); a short one like "1234" is only unique inside its own feed."""
    return ":" in guid or len(guid) >= 20


def keys(item: Item) -> list[tuple[str, str]]:
    """The keys under which an item is filed in its category."""
    found = []
    if looks_global(item.guid):
        found.append(("guid", item.guid))
    if item.link:
        found.append(("url", canonical_url(item.link)))
    if words(item.title) or words(item.text):
        found.append(("text", text_hash(item.title, item.text)))
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
# change needs a migration that signs the stored items again.
SHINGLE_WORDS = 3
LEAD_WORDS = 30
ROWS = 3  # signature values per band: 3 keeps unrelated texts from colliding
SIGNATURES = {"full": 20, "lead": 10}  # kind -> number of bands
# Candidates scored per new item, best band matches first: bounds the work
# when many stored stories share phrases.
MAX_CANDIDATES = 10
# An item with fewer shingles than this is too short to call a near duplicate.
MIN_SHINGLES = 8
# Similarity is measured against the shorter text, but never against fewer
# shingles than this, so two short blurbs need more than a shared phrase.
SMALL_TEXT = 20
# Only this much of a body is compared: two texts alike over their first
# 5,000 words are one story, and a huge body cannot blow up the signature
# matrix (shingles x hash functions).
MAX_WORDS = 5000
# The share of the shorter text's shingles that must be in the other, unless
# the category sets its own near_duplicate_threshold; see config.Category.
DEFAULT_THRESHOLD = 0.5

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


_A, _B = _coefficients(max(SIGNATURES.values()) * ROWS)


def shingles(tokens: list[str]) -> set[int]:
    """Hashes (below P) of every run of SHINGLE_WORDS words (one run if shorter)."""
    if len(tokens) <= SHINGLE_WORDS:
        return {zlib.crc32(" ".join(tokens).encode()) % _PRIME} if tokens else set()
    # zip of shifted lists rather than a slice per position: 2.5x faster, and
    # this ran for every word of every item stored.
    runs = zip(*(tokens[k:] for k in range(SHINGLE_WORDS)))
    return {zlib.crc32(" ".join(run).encode()) % _PRIME for run in runs}


def minhash(hashes: set[int], count: int) -> np.ndarray:
    """The MinHash signature: for each of `count` hash functions, the least value."""
    values = np.fromiter(hashes, dtype=np.uint64, count=len(hashes))
    return ((values[:, None] * _A[:count] + _B[:count]) % np.uint64(_PRIME)).min(axis=0)


def band_keys(category: str, kind: str, signature: np.ndarray) -> list[int]:
    """One signed 64-bit key per band; the category is part of the key, so
    stories only ever meet candidates from their own category."""
    keys = []
    for band in range(len(signature) // ROWS):
        digest = hashlib.blake2b(f"{category}\x1f{kind}\x1f{band}".encode(), digest_size=8)
        digest.update(signature[band * ROWS : (band + 1) * ROWS].tobytes())
        keys.append(int.from_bytes(digest.digest(), "big", signed=True))
    return keys


@dataclass
class Fingerprint:
    shingles: set[int]  # of headline + body, for the exact score
    bands: list[int]  # LSH band keys of both signatures


def story_shingles(title: str, text: str) -> set[int]:
    return shingles(words(title) + words(text)[:MAX_WORDS])


def fingerprint(item: Item) -> Fingerprint | None:
    """The item's shingles and band keys; None if it is too short to compare."""
    body = words(item.text)[:MAX_WORDS]
    full = shingles(words(item.title) + body)
    if len(full) < MIN_SHINGLES:
        return None
    bands = band_keys(item.category, "full", minhash(full, SIGNATURES["full"] * ROWS))
    lead = shingles(body[:LEAD_WORDS])
    if len(lead) >= MIN_SHINGLES:
        bands += band_keys(item.category, "lead", minhash(lead, SIGNATURES["lead"] * ROWS))
    return Fingerprint(full, bands)


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


# Why an exact key match means the same story.
EXACT_REASONS = {
    "guid": "same guid",
    "url": "same link once tracking parameters are removed",
    "text": "same text once case, accents and punctuation are folded",
}
