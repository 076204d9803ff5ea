"""The Flask app: feeds per category and an OPML list of them (built by
opml.py); the HTML pages are in pages.py, /metrics and /healthz in exposition.py."""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from flask import Flask, Response, abort, redirect, request
from flask.typing import ResponseReturnValue

from .. import logs, media
from ..config import Config, ConfigError, ConfigFile, load_config
from ..publish import access, opml
from ..publish.cache import FeedCache, Rendered
from ..store import DatabaseUnavailable, Store, inuse
from . import exposition, gate, pages
from .delivery import respond
from .fastfeed import FastFeeds
from .ratelimit import Limiter

log = logging.getLogger(__name__)


# Seconds between a server process's looks at feeds.yaml (a stat, on the
# first request after the time is up).
WATCH_EVERY = 1.0
# Seconds a client is asked to wait (Retry-After) while the database cannot be
# reached; the node itself tries again every half second (store/pgpool.py).
RETRY_AFTER = 5


def create_app(config: Config | str | Path | None = None) -> Flask:
    """App factory.  Given feeds.yaml's path (or nothing: $FEEDHUB_CONFIG, else
    ./feeds.yaml), the app follows edits to the file as the worker does: a
    valid edit is served from the next request on (new categories, titles,
    feed sizes), an invalid one is logged and the last good one kept.  Given a
    Config, it serves that one."""
    watched = None
    if not isinstance(config, Config):
        watched = ConfigFile(config or os.environ.get("FEEDHUB_CONFIG", "feeds.yaml"))
        config = load_config(watched.path)
    if not logging.getLogger().handlers:
        # Under a bare WSGI server (the Procfile's web line runs granian): log as `feedhub run` does.
        logs.setup(config.log_level, os.environ.get("FEEDHUB_LOG_LEVEL"))
    app = Flask(__name__, static_folder=None)  # pages.py serves static/ (a route with its audience)
    local = threading.local()

    def current() -> Config:
        served: Config = app.config["FEEDHUB"]  # Flask's config holds Any; serve() puts a Config there
        return served

    def store() -> Store:
        # One connection per server thread, kept for the thread's life (or
        # until an edit of feeds.yaml names another database).
        database = current().database
        if getattr(local, "database", None) != database:
            if hasattr(local, "store"):
                local.store.close()
            local.store, local.database = Store(database), database
        thread_store: Store = local.store  # threading.local's attributes are Any
        return thread_store

    def serve(config: Config) -> None:
        # Feeds depend on feeds.yaml as well as on the items: the file's
        # time counts towards their Last-Modified.
        modified = watched.modified() if watched else None
        app.extensions["feedhub.feeds"] = FeedCache(config, config_modified=modified)
        app.extensions["feedhub.opml"] = Rendered(
            opml.categories_document(config, access.readable(config, None)), OPML_TYPE, modified)
        limiter = app.extensions.get("feedhub.limits")
        if limiter is None or limiter.limits != config.rate_limits:  # an unrelated edit keeps the counts
            app.extensions["feedhub.limits"] = Limiter(config.rate_limits)
        app.config["FEEDHUB"] = config
        pages.use_config(app, config)
        if config.database not in in_use:  # from now on, not from the first request that opens it
            try:
                in_use[config.database] = inuse.announce(config.database)
            except OSError as exc:  # the server starts all the same: /healthz says what is wrong
                log.error("cannot use the database: %s", exc)

    # The databases this app serves, announced for its life: `feedhub
    # restore` refuses while it runs (store/inuse.py).
    in_use: dict[Path | str, Callable[[], None]] = {}
    weakref.finalize(app, lambda: [release() for release in in_use.values()])

    serve(config)
    follow = _follow(app, watched, serve) if watched else lambda: None
    exposition.register(app, store)
    # Flask's documented way to add WSGI middleware (mypy sees a method replaced).
    app.wsgi_app = gate.Gate(FastFeeds(app.wsgi_app, app, store, follow), current)  # type: ignore[method-assign]

    def category_or_404(name: str) -> str:
        # A private category without its key is as absent as an unknown one.
        visible = gate.visible_categories()
        key = current().category_key(name)
        if key not in visible:
            known = ", ".join(sorted(visible))
            abort(Response(f"No category {name!r} here. Categories: {known}\n", 404, mimetype="text/plain"))
        return key

    @app.get("/feeds/<name>.<any(rss, atom, json):fmt>")
    @gate.audience(gate.PARTNER, limit=gate.FEEDS)
    def feed(name: str, fmt: str) -> Response:
        key = category_or_404(name)
        page = _page_number(request.args.get("page", "1"))
        rendered = app.extensions["feedhub.feeds"].get(store(), key, fmt, page)
        if rendered is None:
            abort(Response(f"Category {key!r} has no page {page}; page 1 is the newest.\n", 404, mimetype="text/plain"))
        return respond(request, rendered, current().feed_max_age, private=current().categories[key].private)

    @app.get("/feeds/tag/<name>.<any(rss, atom, json):fmt>")
    @gate.audience(gate.PUBLIC, limit=gate.FEEDS)  # public categories' stories only, whoever asks
    def tag_feed(name: str, fmt: str) -> ResponseReturnValue:  # a feed, or a redirect to its slug
        slug = media.tag_slug(name)
        if slug and slug != name:  # "North Sea", "north_sea": one tag, one address
            return redirect(f"/feeds/tag/{quote(slug)}.{fmt}", 301)  # any script; "#" as in F#
        rendered = app.extensions["feedhub.feeds"].get_tag(store(), slug, fmt) if slug else None
        if rendered is None:
            abort(Response(f"No story is tagged {name!r}.\n", 404, mimetype="text/plain"))
        return respond(request, rendered, current().feed_max_age)

    @app.get("/feeds/search/<key>.<any(rss, atom, json):fmt>")
    @gate.audience(gate.PUBLIC, limit=gate.FEEDS)  # likewise
    def search_feed(key: str, fmt: str) -> Response:
        if key not in current().searches:
            known = ", ".join(sorted(current().searches)) or "none"
            abort(Response(f"No saved search {key!r} here. Saved searches: {known}\n", 404, mimetype="text/plain"))
        rendered = app.extensions["feedhub.feeds"].get_search(store(), key, fmt)
        return respond(request, rendered, current().feed_max_age)

    @app.get("/opml")
    @gate.audience(gate.PARTNER, limit=gate.FEEDS)  # for feed readers, as the feeds are
    def subscription_list() -> Response:
        partner = gate.request_partner()
        if partner is None:
            return respond(request, app.extensions["feedhub.opml"], current().feed_max_age)
        # What this key can read, its private feeds with the key in their
        # address (the form readers importing OPML can use); for it alone.
        document = opml.categories_document(current(), gate.visible_categories(), key=gate.request_key())
        return respond(request, Rendered(document, OPML_TYPE, app.extensions["feedhub.opml"].modified),
                       current().feed_max_age, private=True)

    pages.register(app, store)

    @app.errorhandler(DatabaseUnavailable)
    def database_unavailable(exc: DatabaseUnavailable) -> Response:
        # Said in the log once, by the store, as it goes down; not once a request.
        return Response(f"The database cannot be reached just now; try again in {RETRY_AFTER} s.\n", 503,
                        headers={"Retry-After": str(RETRY_AFTER)}, mimetype="text/plain")

    @app.after_request
    def keep_partners_pages_private(response: Response) -> Response:
        # Whatever a key opened is for its holder only, never a shared cache;
        # and a link followed from a page opened with ?key= must not carry
        # the address (with the key) to another site as its Referer.
        if gate.request_partner():
            response.headers.setdefault("Cache-Control", "private")
            response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    return app


def _follow(app: Flask, watched: ConfigFile, serve: Callable[[Config], None]) -> Callable[[], None]:
    """Look at feeds.yaml at most every WATCH_EVERY seconds, before a request,
    and serve a valid new version of it.  Returns the check, for the fast path."""
    lock = threading.Lock()
    next_look = [time.monotonic() + WATCH_EVERY]

    @app.before_request
    def follow_feeds_yaml() -> None:
        # One thread looks; the others go on with what is served now.
        if time.monotonic() < next_look[0] or not lock.acquire(blocking=False):
            return
        try:
            next_look[0] = time.monotonic() + WATCH_EVERY
            if watched.changed():
                try:
                    config = load_config(watched.path)
                except ConfigError as exc:
                    log.error("feeds.yaml rejected, still serving the last good configuration:\n%s", exc)
                    return
                serve(config)
                log.info("feeds.yaml reloaded", extra={"categories": len(config.categories)})
        finally:
            lock.release()

    return follow_feeds_yaml


def _page_number(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        abort(Response(f"page must be a whole number from 1, got {value!r}\n", 400, mimetype="text/plain"))
    return int(value)


OPML_TYPE = "text/x-opml; charset=utf-8"
