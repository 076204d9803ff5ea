"""HTTP delivery of a rendered document: validators, 304s and compression.

Readers poll every few minutes, so most requests should end here with a
304 and no body.  Each content coding is its own representation with its own
strong ETag ("<hash>", "<hash>-gzip", "<hash>-br"), as RFC 9110 asks; a reader
that sends back any of them for unchanged content gets a 304.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Request, Response
from werkzeug.http import parse_accept_header, parse_date, parse_etags

from ..publish.cache import CODINGS, Rendered

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment


STALE = 'feedhub; hit; detail="database unreachable, possibly stale"'


def respond(request: Request, rendered: Rendered, max_age: int, private: bool = False) -> Response:
    """`private`: only for the one who asked (a partner's feed), never for a shared cache."""
    status, headers, body = answer(request.environ, rendered, max_age, private)
    if status == 304:
        return Response(status=304, headers=headers)
    return Response(body, headers=headers)


def answer(environ: WSGIEnvironment, rendered: Rendered, max_age: int, private: bool = False) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body for a GET of `rendered`, from the request's
    WSGI environ alone (Flask's route and the plain-WSGI fast path share it)."""
    coding = choose_coding(environ.get("HTTP_ACCEPT_ENCODING"))
    headers = [
        ("ETag", _tag(rendered.etag, coding)),
        ("Cache-Control", f"{'private' if private else 'public'}, max-age={max_age}"),
        ("Vary", "Accept-Encoding"),
    ]
    if rendered.link_header:
        headers.append(("Link", rendered.link_header))
    if rendered.stale:  # RFC 9211: served by this cache without being checked against its origin
        headers.append(("Cache-Status", STALE))
    if not_modified(environ, rendered):
        # No representation metadata on a 304 (RFC 9110 15.4.5), as werkzeug does.
        return 304, headers, b""
    if rendered.last_modified:
        headers.append(("Last-Modified", rendered.last_modified))
    if coding:
        headers.append(("Content-Encoding", coding))
    body = rendered.encoded(coding)
    headers += [("Content-Type", rendered.content_type), ("Content-Length", str(len(body)))]
    return 200, headers, body


def choose_coding(accept_encoding: str | None) -> str | None:
    """The best coding the client accepts (q > 0), preferring br; None: identity."""
    if accept_encoding is None:
        return None
    accepted = parse_accept_header(accept_encoding)
    best = max(CODINGS, key=accepted.quality)
    return best if accepted.quality(best) > 0 else None


def not_modified(environ: WSGIEnvironment, rendered: Rendered) -> bool:
    sent = environ.get("HTTP_IF_NONE_MATCH")
    if sent:
        # If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 13.2.2).
        tags = [_tag(rendered.etag, coding) for coding in (None, *CODINGS)]
        if sent in tags:  # most polls: the one tag the reader was given, sent back as it was
            return True
        condition = parse_etags(sent)
        if condition:  # else (a blank header) If-Modified-Since decides, as before
            return condition.star_tag or any(condition.contains_weak(tag.strip('"')) for tag in tags)
    since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
    if since is None or rendered.modified is None:
        return False
    return rendered.modified.replace(microsecond=0) <= since


def _tag(etag: str, coding: str | None) -> str:
    return f'"{etag}-{coding}"' if coding else f'"{etag}"'
