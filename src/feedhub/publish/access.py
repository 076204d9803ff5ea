"""Who may see what: operators, partners with a key, and everyone else.

Each question is answered by a pure function of feeds.yaml and what the
request carries, and every page asks here:

- Which address is the client?  The TCP peer, unless the peer is one of
  ``trusted_proxies``: then the nearest address in X-Forwarded-For that is
  not itself a trusted proxy.  A client writing its own X-Forwarded-For
  straight to feedhub (or through a proxy, which appends the real address)
  gains nothing.
- May it open the operator pages (routes declared ``@audience(OPERATOR)`` in
  web/, such as /sources and /metrics)?
  Its address must be in ``operators.allow_networks`` (loopback by default)
  and, when ``operators.token`` is set, it must send the token as the HTTP
  Basic password or a Bearer token.  Otherwise the page answers 404, like an
  address that does not exist, and a warning is logged.
- Which categories may it read (``visible_categories``)?  The public ones,
  and the private ones of the partner whose key it sends: ``?key=``, the
  X-Feedhub-Key header, or the Basic password / Bearer token.

Keys are stored as SHA-256 hashes (``hash_key``), several per partner if
need be, each with an optional expiry (``key_owner``): an expired key opens
no more than a wrong one, so a key rotates without a moment the partner is
cut off.  A key is 32 random bytes made by ``feedhub hash-key`` (or one at
least 20 characters long that an operator chose), far beyond guessing, so a
slow password KDF (scrypt, PBKDF2) would add no protection, yet would cost
tens of milliseconds on every feed poll and hand anyone sending wrong keys a
way to burn the server's CPU.

The web side's ``Gate`` middleware (web/gate.py) runs before the app and
before the server writes its access log line (granian and gunicorn log from
the same WSGI environ): it puts the
client's address in REMOTE_ADDR and takes a ``key`` out of the query string,
so no log line, error page or template ever holds one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Iterable, Sequence
from urllib.parse import parse_qsl, urlencode

from ..config import Category, Config

log = logging.getLogger(__name__)

KEY_PARAM = "key"
KEY_HEADER = "X-Feedhub-Key"
MIN_KEY_LENGTH = 20
# Where web/gate.py's Gate leaves what it took from the request.
ENVIRON_KEY = "feedhub.key"
ENVIRON_PEER = "feedhub.peer"
HIDDEN = "HIDDEN"
UNKNOWN = "unknown"  # a forwarded address that is not an IP address

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


# -- addresses -------------------------------------------------------------------


@lru_cache(maxsize=4096)  # the same few proxies and clients, request after request
def parse_address(text: str) -> Address | None:
    """'203.0.113.9', '[2001:db8::1]:443' or '::ffff:127.0.0.2' -> an address
    (IPv4-mapped IPv6 as the IPv4 address it is); None if it is not one."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.partition(":")[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def in_networks(address: str | None, networks: Iterable[Network]) -> bool:
    parsed = parse_address(address or "")
    return parsed is not None and any(parsed in network for network in networks)


def client_address(peer: str, forwarded_for: str, trusted: Sequence[Network]) -> str:
    """The client's address: the peer, or, while the address reached so far
    is a trusted proxy, the one it says it forwarded for (X-Forwarded-For is
    read right to left: each proxy appends the address it heard from)."""
    address = peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    while hops and in_networks(address, trusted):
        hop = parse_address(hops.pop())
        if hop is None:
            # A trusted proxy would never write this; it came from the client.
            return UNKNOWN
        address = str(hop)
    return address


# -- keys and tokens -------------------------------------------------------------


def hash_key(key: str) -> str:
    """The form partners' keys take in feeds.yaml."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class KeyUse:
    """A request's key is this partner's; an expired one is refused like a wrong one."""

    partner: str
    expired: bool


def key_owner(config: Config, key: str | None, now: datetime) -> KeyUse | None:
    """Whose key this is, and whether it has expired at `now`; None if it is
    no partner's.  Every hash is compared, in constant time, whichever matches."""
    if not key:
        return None
    wanted, found = hash_key(key), None
    for name, partner in config.partners.items():
        for held in partner.keys:
            if hmac.compare_digest(held.hash, wanted):
                found = KeyUse(name, expired=held.expired(now))
    return found


def readable(config: Config, partner: str | None) -> dict[str, Category]:
    """The categories a visitor may read: every public one, and the private
    ones given to its partner; in feeds.yaml's order."""
    granted = set(config.partners[partner].categories) if partner else set()
    return {key: meta for key, meta in config.categories.items() if not meta.private or key in granted}


def credential(authorization: str | None) -> str | None:
    """The secret in an Authorization header: a Bearer token or the Basic password."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def operator_refusal(config: Config, address: str | None, authorization: str | None) -> str | None:
    """Why a request may not open an operator page, or None when it may."""
    if not in_networks(address, config.operators.allow_networks):
        return "address not in operators.allow_networks"
    token = config.operators.token
    if token is None:
        return None
    sent = credential(authorization)
    if sent is None:
        return "no operator token sent"
    # Digests, so the comparison does not even reveal the token's length.
    if not hmac.compare_digest(hashlib.sha256(sent.encode()).digest(), hashlib.sha256(token.encode()).digest()):
        return "wrong operator token"
    return None


# -- before anything else sees the request ------------------------------------------

def split_key(query: str) -> tuple[str | None, str, str]:
    """A query string's key (the last, if several), the query without it, and
    the query with the key's value hidden (for logs)."""
    pairs = parse_qsl(query, keep_blank_values=True)
    keys = [value for name, value in pairs if name.lower() == KEY_PARAM]
    if not keys:
        return None, query, query
    kept = urlencode([(name, value) for name, value in pairs if name.lower() != KEY_PARAM])
    shown = urlencode([(name, HIDDEN if name.lower() == KEY_PARAM else value) for name, value in pairs])
    return keys[-1], kept, shown


def may_hold_key(query: str) -> bool:
    # Cheap, and never wrong: a name spelt with %-escapes has a '%'.
    return "%" in query or "key" in query.lower()


def hide_key(url: str) -> str:
    """A URL or request target with the value of its key parameter hidden."""
    base, mark, query = url.partition("?")
    return base + mark + split_key(query)[2] if mark else url
