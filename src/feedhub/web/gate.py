"""Access control inside a web process: each route's audience and rate
limit (declared where the route is defined, with @audience), the current
request's partner and categories, and the Gate middleware.  The decisions
themselves are pure functions in feedhub.publish.access."""

from __future__ import annotations

import logging
import time
from functools import wraps
from typing import TYPE_CHECKING, Callable, Iterable, Literal, ParamSpec, TypeVar

from flask import Response, abort, current_app, g, request
from werkzeug.exceptions import HTTPException

from ..config import Category, Config
from ..publish.access import (
    ENVIRON_KEY,
    ENVIRON_PEER,
    KEY_HEADER,
    KeyUse,
    client_address,
    credential,
    hide_key,
    in_networks,
    key_owner,
    may_hold_key,
    operator_refusal,
    readable,
    split_key,
)
from ..metrics import labels
from ..model import utcnow
from .fastfeed import REFUSED
from .ratelimit import Limiter

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)
Params = ParamSpec("Params")
Result = TypeVar("Result")

# Who a route is for.
Audience = Literal["public", "partner", "operator"]
PUBLIC: Audience = "public"  # anyone, and the answer is the same with a key: nothing private is in it
PARTNER: Audience = "partner"  # anyone for the public categories, and a partner's key adds its private ones
OPERATOR: Audience = "operator"  # operators alone; anyone else gets the site's 404, as for no page at all
# Which rate limit a route's requests count against (rate_limits in feeds.yaml), if any.
Limit = Literal["feeds", "pages"]
FEEDS: Limit = "feeds"
PAGES: Limit = "pages"


View = Callable[Params, Result]


def audience(who: Audience, limit: Limit | None = None) -> Callable[[View[Params, Result]], View[Params, Result]]:
    """Declare a route's audience and rate limit; put it under the route
    decorator.  The route's view then runs only for its audience, and within
    its limit (429 past it).  A test walks the URL map: a route without this fails it."""

    def declare(view: Callable[Params, Result]) -> Callable[Params, Result]:
        @wraps(view)
        def guarded(*args: Params.args, **kwargs: Params.kwargs) -> Result:
            if who == OPERATOR and refused_operator():
                abort(404)
            if limit:
                limited(limit)
            return view(*args, **kwargs)

        setattr(guarded, "feedhub_audience", who)
        setattr(guarded, "feedhub_limit", limit)
        if who == OPERATOR:  # Flask's own OPTIONS answer would tell anyone the page exists
            setattr(guarded, "provide_automatic_options", False)
        return guarded

    return declare


def audience_of(view: Callable[..., object]) -> Audience | None:
    audience: Audience | None = getattr(view, "feedhub_audience", None)
    return audience


def limit_of(view: Callable[..., object]) -> Limit | None:
    limit: Limit | None = getattr(view, "feedhub_limit", None)
    return limit


# -- the current request -------------------------------------------------------------


def request_key() -> str | None:
    """The partner key the current request sent, if any."""
    return (request.environ.get(ENVIRON_KEY) or request.headers.get(KEY_HEADER)
            or credential(request.headers.get("Authorization")))


def key_use() -> KeyUse | None:
    """Whose key the current request sent, expired or not (hashed once per
    request); a use of an expired key is logged with the partner's name."""
    if "feedhub_key_use" not in g:
        use = key_owner(current_app.config["FEEDHUB"], request_key(), utcnow())
        if use and use.expired:
            _log_expired(use.partner)
        g.feedhub_key_use = use
    found: KeyUse | None = g.feedhub_key_use
    return found


def request_partner() -> str | None:
    """The partner the current request's key belongs to, unless it expired:
    an expired key opens as much as a wrong one."""
    use = key_use()
    return use.partner if use and not use.expired else None


# When each partner's expired key was last logged: at most once per
# EXPIRED_LOG_EVERY seconds per partner and process (a reader polls on).
EXPIRED_LOG_EVERY = 600
_expired_logged: dict[str, float] = {}


def _log_expired(partner: str) -> None:
    now = time.monotonic()
    if now - _expired_logged.get(partner, -EXPIRED_LOG_EVERY) >= EXPIRED_LOG_EVERY:
        _expired_logged[partner] = now
        log.warning("expired partner key refused", extra={"partner": partner, "path": request.path,
                                                          "client": request.remote_addr})


def visible_categories() -> dict[str, Category]:
    """The categories the current request may see, in feeds.yaml's order:
    every page, feed and list that names categories asks this."""
    return readable(current_app.config["FEEDHUB"], request_partner())


def is_operator() -> bool:
    return operator_refusal(current_app.config["FEEDHUB"], request.remote_addr,
                            request.headers.get("Authorization")) is None


def refused_operator() -> bool:
    """Whether the request may not open an operator page; the refusal is
    logged (with the address, never a credential)."""
    reason = operator_refusal(current_app.config["FEEDHUB"], request.remote_addr, request.headers.get("Authorization"))
    if reason:
        log.warning("operator page refused", extra={"path": request.path, "client": request.remote_addr,
                                                    "peer": request.environ.get(ENVIRON_PEER), "reason": reason})
    return reason is not None


def hidden_page() -> bool:
    """For a request its route never saw (another method): whether its
    address is an operator page this client may not know of."""
    try:
        endpoint, _ = current_app.url_map.bind_to_environ(request.environ).match(method="GET")
    except HTTPException:
        return False
    return audience_of(current_app.view_functions[endpoint]) == OPERATOR and refused_operator()


def limited(limit: Limit) -> None:
    """Answer 429 when the request's key or address is over its rate limit."""
    limiter: Limiter = current_app.extensions["feedhub.limits"]
    partner = request_partner()
    # The fast path may have asked already (and taken the token).
    refused = request.environ.get(REFUSED) or limiter.check(partner, request.remote_addr or "", limit)
    if refused is None:
        return
    scope, wait = refused
    current_app.extensions["feedhub_request_counts"].add(
        "feedhub_rate_limited", labels(scope=scope, partner=partner or ""))
    limit_text = limiter.describe(scope, keyed=partner is not None)
    abort(Response(f"Too many requests: {limit_text}. Try again in {wait} s.\n", 429,
                   headers={"Retry-After": str(wait)}, mimetype="text/plain"))


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
