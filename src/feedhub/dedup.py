"""What makes two items the same story.

An item is reduced to a few *keys*; two items in one category that share a key
are the same story.  The store keeps the keys in an indexed table, so finding a
match is one indexed lookup per key, however many items are stored.

Exact keys (this module):
- ``guid``: the source's own id for the entry, when it is globally unique;
- ``url``: the canonical link, with tracking parameters and fragments removed;
- ``text``: a hash of the normalised body text.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMS.match(k)
    )
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, urlencode(query), ""))


def words(text: str) -> list[str]:
    """Lower-case words with accents, punctuation and typography folded away."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.findall(r"[^\W_]+", text.casefold())


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
