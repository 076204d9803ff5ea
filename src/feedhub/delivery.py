"""HTTP delivery of a rendered document: validators, 304s and compression.

Readers poll every few minutes, so most requests should end here with a
304 and no body.  Each content coding is its own representation with its own
strong ETag ("<hash>", "<hash>-gzip", "<hash>-br"), as RFC 9110 asks; a reader
that sends back any of them for unchanged content gets a 304.
"""

from __future__ import annotations

from flask import Request, Response

from .feedcache import CODINGS, Rendered


def respond(request: Request, rendered: Rendered, max_age: int, private: bool = False) -> Response:
    """`private`: only for the one who asked (a partner's feed), never for a shared cache."""
    coding = choose_coding(request)
    headers = {
        "ETag": _tag(rendered.etag, coding),
        "Cache-Control": f"{'private' if private else 'public'}, max-age={max_age}",
        "Vary": "Accept-Encoding",
    }
    if rendered.last_modified:
        headers["Last-Modified"] = rendered.last_modified
    if rendered.link_header:
        headers["Link"] = rendered.link_header
    if not_modified(request, rendered):
        return Response(status=304, headers=headers)
    if coding:
        headers["Content-Encoding"] = coding
    return Response(rendered.encoded(coding), headers=headers, content_type=rendered.content_type)


def choose_coding(request: Request) -> str | None:
    """The best coding the client accepts (q > 0), preferring br; None: identity."""
    if "Accept-Encoding" not in request.headers:
        return None
    accepted = request.accept_encodings
    best = max(CODINGS, key=accepted.quality)
    return best if accepted.quality(best) > 0 else None


def not_modified(request: Request, rendered: Rendered) -> bool:
    condition = request.if_none_match
    if condition:
        # If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 13.2.2).
        tags = [_tag(rendered.etag, coding) for coding in (None, *CODINGS)]
        return condition.star_tag or any(condition.contains_weak(tag.strip('"')) for tag in tags)
    since = request.if_modified_since
    if since is None or rendered.modified is None:
        return False
    return rendered.modified.replace(microsecond=0) <= since


def _tag(etag: str, coding: str | None) -> str:
    return f'"{etag}-{coding}"' if coding else f'"{etag}"'
