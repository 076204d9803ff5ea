"""An article read from its file (parse.py) as an Item, and the record of
what the file was read into, for the operator."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

from ..model import Item, Person, iso
from .parse import Article


def article_item(article: Article, category: str, site_link: str, source: str, root: Path, mtime: float) -> Item:
    """The article as an Item of `category` from `source` (the folder,
    "articles:<name>"), its guid and link made from its path under `root`;
    dated by the file's `mtime` when the article carries no date."""
    relative = article.path.relative_to(root).with_suffix("")
    slug = re.sub(r"[^a-z0-9]+", "-", relative.as_posix().lower()).strip("-")
    return Item(
        category=category,
        source=source,
        guid=relative.as_posix(),
        title=article.headline,
        link=f"{site_link}/articles/{slug}",
        summary=article.summary,
        content=article.html(),
        text=article.text,
        published=article.published or article.updated or datetime.fromtimestamp(mtime, tz=timezone.utc),
        updated=article.updated,
        author=", ".join(article.authors),
        authors=tuple(Person(name) for name in article.authors),
        tags=tuple(article.tags),
        image=article.image,
    )


def parse_record(article: Article) -> str:
    """What a file was read into, for the operator (`feedhub dropped`, the
    article's operator page): its metadata, every line left out of the body
    and why, and what could not be read."""
    return json.dumps({
        "authors": article.authors, "published": iso(article.published), "updated": iso(article.updated),
        "tags": article.tags, "image": article.image, "caption": article.caption, "credit": article.credit,
        "dropped": article.dropped, "warnings": article.warnings,
    }, ensure_ascii=False)
