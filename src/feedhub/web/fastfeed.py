"""The feed route's fast path: a public feed, polled without a key or a
query, answered in plain WSGI from the feed cache.

Readers poll feeds far more often than anything else is asked for, and most
polls end in a 304.  Flask's routing, request and response objects and its
before/after hooks cost several times what the answer itself does, so the
common case skips them: this middleware sits inside access.Gate (which has
already settled the client's address and taken any key out of the query)
and in front of Flask.  It does what the Flask route does, in the same
order, with the same functions: follow feeds.yaml, apply the address's rate
limit, find the category, take the rendered feed from the cache, answer
with delivery.answer, and count the request for /metrics.  Anything else
(a key, a page, a private or unknown category, HEAD, a refusal) goes on to
Flask unchanged.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Callable, Iterable

from flask import Flask

from .. import metrics
from ..store import DatabaseUnavailable
from .delivery import answer
from .ratelimit import Limiter

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from ..config import Config
    from ..store import Store

FORMATS = ("rss", "atom", "json")
PREFIX = "/feeds/"
# Anything a partner's key can arrive in (Gate has moved ?key= to feedhub.key).
CREDENTIALS = ("feedhub.key", "HTTP_X_FEEDHUB_KEY", "HTTP_AUTHORIZATION")
REFUSED = "feedhub.refused"  # the rate limit's refusal, for the Flask route
STATUS_LINES = {status: f"{status} {HTTPStatus(status).phrase}" for status in (200, 304)}


class FastFeeds:
    """WSGI middleware: `follow()` looks at feeds.yaml when its time is up,
    `store()` is the calling thread's Store."""

    def __init__(
        self, app: WSGIApplication, flask_app: Flask, store: Callable[[], Store], follow: Callable[[], None]
    ):
        self.app, self.flask_app, self.store, self.follow = app, flask_app, store, follow
        self._labels: dict[tuple[str, str, int], str] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if (not path.startswith(PREFIX) or environ.get("REQUEST_METHOD") != "GET" or environ.get("QUERY_STRING")
                or any(name in environ for name in CREDENTIALS)):
            return self.app(environ, start_response)
        name, dot, fmt = path[len(PREFIX):].rpartition(".")
        if not dot or fmt not in FORMATS or "/" in name:
            return self.app(environ, start_response)
        self.follow()
        extensions = self.flask_app.extensions
        config: Config = self.flask_app.config["FEEDHUB"]
        key = config.category_key(name)
        if key is None or config.categories[key].private:
            return self.app(environ, start_response)  # Flask's 404 (or a partner's feed)
        limiter: Limiter = extensions["feedhub.limits"]
        if limiter.by_address is not None:
            refused = limiter.check(None, environ.get("REMOTE_ADDR", ""))
            if refused is not None:  # the Flask route answers (and counts) the 429
                environ[REFUSED] = refused
                return self.app(environ, start_response)
        try:
            rendered = extensions["feedhub.feeds"].get(self.store(), key, fmt, 1)
        except DatabaseUnavailable:  # and nothing cached: the Flask route's 503
            return self.app(environ, start_response)
        if rendered is None:
            return self.app(environ, start_response)
        status, headers, body = answer(environ, rendered, config.feed_max_age)
        extensions["feedhub_request_counts"].add("feedhub_feed_requests", self._label(key, fmt, status))
        start_response(STATUS_LINES[status], headers)
        return [body] if body else []

    def _label(self, category: str, fmt: str, status: int) -> str:
        # The same few label texts, request after request.
        label = self._labels.get((category, fmt, status))
        if label is None:
            label = self._labels[(category, fmt, status)] = metrics.labels(
                category=category, format=fmt, status=str(status))
        return label
