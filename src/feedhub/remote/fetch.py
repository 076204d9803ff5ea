"""Fetching a source feed: conditional GET, status handling, redirects.

HTTP is done with httpx (through fetchguard's guarded client) so that
timeouts, validators and status codes are ours to control.  A fetch sends
the ETag and Last-Modified of the previous good fetch, so an unchanged feed
costs the publisher a 304 and us no parsing; a 200's body goes to
parse.parse.  A permanent redirect is remembered (``moved_to``), 410 Gone
retires the source, and a 429 or 503 keeps the publisher's Retry-After.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from .. import __version__
from ..config import Config, Source
from . import fetchguard

if TYPE_CHECKING:
    from ..model import SourceState
    from .parse import Entry

USER_AGENT = f"feedhub/{__version__} (+https://github.com/feedhub/feedhub; feed aggregator)"
ACCEPT = "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
# The HTTP client a fetch pass shares between its threads (fetch_client):
# named here so that callers need not import httpx to pass one along.
Client = httpx.Client


class FetchError(Exception):
    """A source that could not be read this time; str() is the reason."""

    def __init__(self, message: str, status: int | None = None, retry_after: str | None = None):
        super().__init__(message)
        self.status = status  # the HTTP status, when there was a response
        self.retry_after = retry_after  # the publisher's Retry-After, on 429 and 503


class Gone(FetchError):
    """410 Gone: the publisher says the feed will not come back."""


@dataclass
class Document:
    """A feed document as fetched, for read() to parse."""

    body: bytes
    url: str | None  # the base for relative links (None for a local file)
    content_type: str | None


@dataclass
class Fetched:
    status: int  # HTTP status, or 200 for a local file
    entries: list[Entry] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    url: str = ""  # where the feed was finally read from
    # Where to fetch from next time, after a 301/308 chain; None if not moved.
    moved_to: str | None = None
    # The document still to be read, when fetched with parse=False (entries is empty then).
    document: Document | None = None


def fetch(
    source: Source,
    state: SourceState,
    timeout: float = 20,
    policy: fetchguard.Policy | None = None,
    client: Client | None = None,
    parse: bool = True,
) -> Fetched:
    """Read a source, conditionally on what the last good fetch saw; on
    `client` (from fetch_client) if given, sharing its connections.  With
    parse=False a new document is left unparsed, in ``document``, for the
    caller to read() where it likes (another process).

    A source that moved permanently is read at its stored new address
    (``state.url``) instead of the one in feeds.yaml.
    """
    policy = policy or fetchguard.Policy()
    if source.path:
        return _read_file(source.path, state, policy, parse)
    url: str = state.url or source.location  # location: the URL, as source.path is None
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    try:
        response = fetchguard.get(url, headers, policy, timeout, client)
    except fetchguard.Refused as exc:
        raise FetchError(str(exc)) from None
    except httpx.TimeoutException:
        raise FetchError(f"timed out after {timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}") from None
    moved_to = permanent_target(url, response)
    if response.status_code == 304:
        return Fetched(
            304, etag=state.etag, last_modified=state.last_modified,
            url=response.url, moved_to=moved_to,
        )
    if response.status_code == 410:
        raise Gone(f"HTTP 410 {response.reason_phrase}: retired, the publisher removed this feed", status=410)
    if response.status_code != 200:
        retry_after = response.headers.get("retry-after") if response.status_code in (429, 503) else None
        raise FetchError(
            f"HTTP {response.status_code} {response.reason_phrase}", status=response.status_code, retry_after=retry_after
        )
    fetched = Fetched(
        200,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        url=response.url,
        moved_to=moved_to,
        document=Document(response.body, response.url, response.headers.get("content-type")),
    )
    return parsed(fetched) if parse else fetched


def permanent_target(url: str, response: fetchguard.Response) -> str | None:
    """The address a chain of permanent redirects (301/308) leads to.

    Only the permanent steps at the start of the chain count: after a 302 or
    307 the publisher still wants us to come back to the address before it.
    """
    target = None
    hops: list[httpx.Response | fetchguard.Response] = [*response.history, response]
    for hop, following in zip(hops, hops[1:]):
        if hop.status_code not in (301, 308):
            break
        target = str(following.url)
    return target if target != url else None


def _read_file(path: Path, state: SourceState, policy: fetchguard.Policy, parse: bool) -> Fetched:
    # A local feed file's mtime and size play the part of an ETag.
    try:
        stat = path.stat()
        stamp = f"{stat.st_mtime_ns}-{stat.st_size}"
        if state.etag == stamp:
            return Fetched(304, etag=stamp, url=str(path))
        if stat.st_size > policy.max_bytes:
            raise FetchError(f"{path} is {stat.st_size:,} bytes, over fetch_max_bytes ({policy.max_bytes:,})")
        body = path.read_bytes()
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror}") from None
    # No base URL: relative links in a local file are resolved against each
    # entry's own link later (sanitize), never against a file:// path.
    fetched = Fetched(200, etag=stamp, url=str(path), document=Document(body, None, None))
    return parsed(fetched) if parse else fetched


def parsed(fetched: Fetched) -> Fetched:
    """The fetch with its document read into entries (FetchError if it is no usable feed)."""
    assert fetched.document is not None  # a 200 has its document
    fetched.entries, fetched.document = read(fetched.document), None
    return fetched


def read(document: Document) -> list[Entry]:
    """The entries of a fetched document; FetchError if it is not a usable
    feed (one more reason this fetch failed)."""
    # feedparser is loaded only when a feed has a body to parse: a pass of 304s never needs it.
    from .parse import ParseError, parse

    try:
        return parse(document.body, document.url, document.content_type)
    except ParseError as exc:
        raise FetchError(str(exc)) from None


def fetch_policy(config: Config) -> fetchguard.Policy:
    return fetchguard.Policy(
        allow_networks=tuple(config.fetch_allow_networks),
        max_bytes=config.fetch_max_bytes,
        max_seconds=config.fetch_max_time,
    )


def fetch_client(config: Config, connections: int) -> Client:
    """One guarded HTTP client for many fetches at once (see fetchguard.client)."""
    return fetchguard.client(fetch_policy(config), config.fetch_timeout, connections)
