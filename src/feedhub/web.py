"""The Flask app: feeds per category, an index of them, and article pages."""

from __future__ import annotations

import html
import os
import threading
from pathlib import Path

from flask import Flask, Response, abort

from . import metrics, publish
from .config import Config, load_config
from .store import Store


def create_app(config: Config | str | Path | None = None) -> Flask:
    """App factory; with no argument, reads $FEEDHUB_CONFIG or ./feeds.yaml."""
    if not isinstance(config, Config):
        config = load_config(config or os.environ.get("FEEDHUB_CONFIG", "feeds.yaml"))
    app = Flask(__name__)
    app.config["FEEDHUB"] = config
    local = threading.local()

    def store() -> Store:
        # One connection per server thread, kept for the thread's life.
        if not hasattr(local, "store"):
            local.store = Store(config.database)
        return local.store

    metrics.register(app, config, store)

    def category_or_404(name: str) -> str:
        key = config.category_key(name)
        if key is None:
            known = ", ".join(sorted(config.categories))
            abort(Response(f"No category {name!r} here. Categories: {known}\n", 404, mimetype="text/plain"))
        return key

    @app.get("/feeds/<name>.<any(rss, atom):fmt>")
    def feed(name: str, fmt: str) -> Response:
        key = category_or_404(name)
        body = publish.render(config, store(), key, fmt)
        return Response(body, content_type=publish.FORMATS[fmt])

    @app.get("/")
    def index() -> Response:
        return Response(_index_page(config), content_type="text/html; charset=utf-8")

    @app.get("/articles/<slug>")
    def article(slug: str) -> Response:
        row = store().item_by_link(f"{config.site.link}/articles/{slug}")
        if row is None:
            abort(404)
        return Response(_article_page(config, row), content_type="text/html; charset=utf-8")

    return app


def _index_page(config: Config) -> str:
    e = html.escape
    heads, rows = [], []
    for key, category in config.categories.items():
        for fmt, label in (("rss", "RSS"), ("atom", "Atom")):
            heads.append(
                f'<link rel="alternate" type="{publish.FORMATS[fmt].split(";")[0]}" '
                f'title="{e(category.title)} ({label})" href="{e(publish.feed_url(config, key, fmt))}">'
            )
        rows.append(
            f"<li><strong>{e(category.title)}</strong> {e(category.description)} "
            f'<a href="/feeds/{key}.rss">RSS</a> <a href="/feeds/{key}.atom">Atom</a></li>'
        )
    return (
        f'<!doctype html><html lang="{e(config.site.language)}"><head><meta charset="utf-8">'
        f"<title>{e(config.site.title)}</title>{''.join(heads)}</head>"
        f"<body><main><h1>{e(config.site.title)}</h1><ul>{''.join(rows)}</ul></main></body></html>"
    )


def _article_page(config: Config, row: dict) -> str:
    e = html.escape
    # content is the HTML feedhub itself made from the article text (escaped).
    return (
        f'<!doctype html><html lang="{e(config.site.language)}"><head><meta charset="utf-8">'
        f"<title>{e(row['title'])}</title></head><body><main><article>"
        f"<h1>{e(row['title'])}</h1><p><time datetime=\"{e(row['published'])}\">{e(row['published'])}</time></p>"
        f"{row['content']}</article></main></body></html>"
    )
