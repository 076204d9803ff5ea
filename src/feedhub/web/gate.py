"""Access control inside a web process: the current request's partner and
categories, the operator-only guard, and the Gate middleware.  The decisions
themselves are pure functions in feedhub.publish.access."""

from __future__ import annotations

import logging
from functools import wraps
from typing import TYPE_CHECKING, Callable, Iterable, ParamSpec, TypeVar

from flask import abort, current_app, g, request

from ..config import Category, Config
from ..publish.access import (
    ENVIRON_KEY,
    ENVIRON_PEER,
    KEY_HEADER,
    client_address,
    credential,
    hide_key,
    in_networks,
    may_hold_key,
    operator_refusal,
    partner_for,
    readable,
    split_key,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)
Params = ParamSpec("Params")
Result = TypeVar("Result")


# -- the current request -------------------------------------------------------------


def request_key() -> str | None:
    """The partner key the current request sent, if any."""
    return (request.environ.get(ENVIRON_KEY) or request.headers.get(KEY_HEADER)
            or credential(request.headers.get("Authorization")))


def request_partner() -> str | None:
    """The partner the current request's key belongs to (hashed once per request)."""
    if "feedhub_partner" not in g:
        g.feedhub_partner = partner_for(current_app.config["FEEDHUB"], request_key())
    partner: str | None = g.feedhub_partner
    return partner


def visible_categories() -> dict[str, Category]:
    """The categories the current request may see, in feeds.yaml's order:
    every page, feed and list that names categories asks this."""
    return readable(current_app.config["FEEDHUB"], request_partner())


def is_operator() -> bool:
    return operator_refusal(current_app.config["FEEDHUB"], request.remote_addr,
                            request.headers.get("Authorization")) is None


def operator_only(view: Callable[Params, Result]) -> Callable[Params, Result]:
    """For operator pages: anyone else gets the site's plain 404, and the
    refusal is logged (with the address, never a credential)."""

    @wraps(view)
    def guarded(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        reason = operator_refusal(current_app.config["FEEDHUB"], request.remote_addr,
                                  request.headers.get("Authorization"))
        if reason:
            log.warning("operator page refused", extra={"path": request.path, "client": request.remote_addr,
                                                        "peer": request.environ.get(ENVIRON_PEER), "reason": reason})
            abort(404)
        return view(*args, **kwargs)

    return guarded


class Gate:
    """WSGI middleware (outermost): the client's address in REMOTE_ADDR (the
    peer's kept as ``feedhub.peer``), the forwarded scheme in wsgi.url_scheme
    when a trusted proxy sent it, and a ``key`` query parameter moved out of
    the query string and the logged request line."""

    def __init__(self, app: WSGIApplication, config: Callable[[], Config]):
        self.app, self.config = app, config

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        trusted = self.config().trusted_proxies
        peer = environ.get("REMOTE_ADDR", "")
        environ[ENVIRON_PEER] = peer
        # Read once, here; nothing after this may believe them again.
        forwarded = environ.pop("HTTP_X_FORWARDED_FOR", "")
        proto = environ.pop("HTTP_X_FORWARDED_PROTO", "")
        if in_networks(peer, trusted):
            environ["REMOTE_ADDR"] = client_address(peer, forwarded, trusted)
            scheme = proto.rpartition(",")[2].strip().lower()
            if scheme in ("http", "https"):
                environ["wsgi.url_scheme"] = scheme
        query = environ.get("QUERY_STRING", "")
        if may_hold_key(query):
            key, kept, shown = split_key(query)
            if key is not None:
                environ[ENVIRON_KEY], environ["QUERY_STRING"] = key, kept
                for name in ("RAW_URI", "REQUEST_URI"):
                    if name in environ:
                        environ[name] = environ[name].partition("?")[0] + "?" + shown
        if may_hold_key(environ.get("HTTP_REFERER", "")):
            environ["HTTP_REFERER"] = hide_key(environ["HTTP_REFERER"])
        return self.app(environ, start_response)
