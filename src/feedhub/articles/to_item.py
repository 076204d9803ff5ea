"""An article read from its file (parse.py) as an Item, and the record of
what the file was read into, for the operator."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

from ..model import Item, Person, Takedown, iso, utcnow
from .parse import Article


def article_item(
    article: Article, category: str, site_link: str, source: str, root: Path, mtime: float,
    now: datetime | None = None,
) -> Item:
    """The article as an Item of `category` from `source` (the folder,
    "articles:<name>"), its guid and link made from its path under `root`;
    dated by the file's `mtime` when the article carries no date.  Held
    until its embargo (or a Published: time) if that is after `now`, and
    dated then; updated when its last correction says, or when the file was
    written if the correction does not say."""
    relative = article.path.relative_to(root).with_suffix("")
    slug = re.sub(r"[^a-z0-9]+", "-", relative.as_posix().lower()).strip("-")
    written = datetime.fromtimestamp(mtime, tz=timezone.utc)
    release = article.release(now or utcnow())
    updated = article.revised(written)
    if release and updated and updated <= release:
        updated = None  # changed before it was ever out: it is first published then
    takedown = Takedown(f"file {article.path}:{article.withdrawn}", article.withdrawn_reason) if article.withdrawn else None
    return Item(
        category=category,
        source=source,
        guid=relative.as_posix(),
        title=article.headline,
        link=f"{site_link}/articles/{slug}",
        summary=article.summary,
        content=article.html(),
        text=article.text,
        published=release or article.published or article.updated or written,
        updated=updated,
        author=", ".join(article.authors),
        authors=tuple(Person(name) for name in article.authors),
        tags=tuple(article.tags),
        image=article.image,
        image_caption=article.caption,
        image_credit=article.credit,
        embargo=release,
        takedown=takedown,
    )


def parse_record(article: Article) -> str:
    """What a file was read into, for the operator (`feedhub dropped`, the
    article's operator page): its metadata, every line left out of the body
    and why, and what could not be read."""
    return json.dumps({
        "authors": article.authors, "published": iso(article.published), "updated": iso(article.updated),
        "tags": article.tags, "image": article.image, "caption": article.caption, "credit": article.credit,
        "embargo": iso(article.embargo), "withdrawn": bool(article.withdrawn), "notes": article.notes,
        "dropped": article.dropped, "warnings": article.warnings,
    }, ensure_ascii=False)
