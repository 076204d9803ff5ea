"""Reading items for feeds and pages: category pages, stories, search, tags."""

from __future__ import annotations

from dataclasses import fields
from typing import Iterable

from ..dedup.fingerprint import canonical_url
from . import search
from .items import Items
from .lifecycle import Lifecycle
from .rows import DELETED_ENTRY, SERVED, CategoryState, DeletedEntry, Duplicate, Preview, StoredItem, one_of, rows_of


def in_categories(chosen: list[str]) -> str:
    """The condition "the item is in one of `chosen`" (a `?` for each); with
    none chosen, one no item meets: PostgreSQL has no empty `IN ()`."""
    return f"items.category IN ({', '.join('?' * len(chosen))})" if chosen else "1 = 0"


class Views(Items, Lifecycle):
    """Reads for feeds and pages, on top of the items part (and the deleted
    entries of the lifecycle part)."""

    def items(self, category: str, limit: int, offset: int = 0) -> list[StoredItem]:
        """Newest first, with how many duplicates each item absorbed."""
        return rows_of(StoredItem, self.db.execute(
            "SELECT items.*, (SELECT count(*) FROM duplicates d WHERE d.item_id = items.id)"
            f" AS duplicate_count FROM items WHERE category = ? AND {SERVED}"
            " ORDER BY published DESC, id LIMIT ? OFFSET ?",
            [category, limit, offset],
        ))

    def item_by_link(self, link: str) -> StoredItem | None:
        return one_of(StoredItem, self.db.execute("SELECT * FROM items WHERE link = ? LIMIT 1", [link]))

    def stories(self, ref: str) -> list[StoredItem]:
        """Stored items named by `ref`: an item id (as in feeds, `urn:uuid:...`,
        or bare), or a link to the item or to one of its recorded copies
        (tracking parameters do not matter)."""
        found = self.item(ref.removeprefix("urn:uuid:"))
        if found:
            return [found]
        return rows_of(StoredItem, self.db.execute(
            "SELECT * FROM items WHERE link = ? OR id IN ("
            " SELECT item_id FROM item_keys WHERE kind = 'url' AND value = ?"
            " UNION SELECT item_id FROM duplicates WHERE link = ?) ORDER BY category",
            [ref, canonical_url(ref), ref],
        ))

    def duplicates_of(self, item_id: str) -> list[Duplicate]:
        return rows_of(Duplicate, self.db.execute(
            "SELECT * FROM duplicates WHERE item_id = ? ORDER BY first_seen, id", [item_id]))

    def feed_page(
        self, category: str, limit: int, offset: int
    ) -> tuple[CategoryState, list[StoredItem], int, list[DeletedEntry]]:
        """(category state, a page of items, total items, the deleted entries
        the first page names), read from one snapshot so the version always
        describes exactly the items returned."""
        with self.snapshot():
            state = self.category_state(category)
            rows = self.items(category, limit, offset)
            total = self.db.execute(
                f"SELECT count(*) FROM items WHERE category = ? AND {SERVED}", [category]).fetchone()[0]
            deleted = self.deleted_entries(category) if offset == 0 else []
        return state, rows, total, deleted

    def search(
        self, query: str, categories: Iterable[str] | None = None, limit: int = 50, newest_first: bool = False,
        among: str = SERVED,
    ) -> list[StoredItem]:
        """Items matching a full-text query (search.py), in `categories`
        (None: in every one): the best `limit` of the newest search.RANK_WINDOW
        matches, best first, or with `newest_first` the `limit` matches filed
        last, newest first; `among` the items served (or those another
        condition names).  SearchError if the query cannot be parsed."""
        query = search.check(query)
        chosen = None if categories is None else list(categories)
        where = f" AND {among}"
        if chosen is not None:
            where += f" AND {in_categories(chosen)}"
        if self.db.dialect == "postgresql":
            return self._search_postgres(query, where, chosen or [], limit, newest_first)
        window: list[int] = []
        if not newest_first:
            # The index's row numbers follow filing: the newest matches are
            # those from the window's last row number up.
            oldest = self.db.execute(
                "SELECT rowid FROM items_search WHERE items_search MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                [query, search.RANK_WINDOW - 1],
            ).fetchone()
            if oldest:
                where, window = f" AND items_search.rowid >= ?{where}", [oldest[0]]
        # In the index's own order (rank, or its row numbers, which follow
        # filing) SQLite joins only as many matches as it needs for `limit`.
        order = "items_search.rowid DESC" if newest_first else "items_search.rank"
        hits = (
            "SELECT items.* FROM items_search JOIN search_rows r ON r.num = items_search.rowid"
            f" JOIN items ON items.id = r.item_id WHERE items_search MATCH ?{where} ORDER BY {order} LIMIT ?"
        )
        if newest_first:
            hits = f"SELECT * FROM ({hits}) ORDER BY published DESC, id"
        return rows_of(StoredItem, self.db.execute(hits, [query, *window, *(chosen or []), limit]))

    def _search_postgres(
        self, query: str, where: str, chosen: list[str], limit: int, newest_first: bool
    ) -> list[StoredItem]:
        """search() on PostgreSQL: the newest matches in filing order
        (search_rows), ranked by ts_rank over the title, tags and body weights."""
        matches = (
            f"SELECT items.*, {search.DOCUMENT} AS document FROM items JOIN search_rows r ON r.item_id = items.id"
            f" WHERE {search.DOCUMENT} @@ to_tsquery('simple', feedhub_fold(?)){where}"
            " ORDER BY r.num DESC LIMIT ?"
        )
        window = limit if newest_first else search.RANK_WINDOW
        if newest_first:
            order = "published DESC, id"
        else:
            # Normalization 1 divides by 1 + log(the document's length): of two
            # body matches the shorter text (more of it about the words) comes
            # first, as under SQLite's BM25.
            order = f"ts_rank('{search.POSTGRES_WEIGHTS}', document, to_tsquery('simple', feedhub_fold(?)), 1) DESC, id"
        columns = ", ".join(field.name for field in fields(StoredItem) if field.name != "duplicate_count")
        tsquery = search.to_tsquery(query)
        return rows_of(StoredItem, self.db.execute(
            f"SELECT {columns} FROM ({matches}) AS hits ORDER BY {order} LIMIT ?",
            [tsquery, *chosen, window, *([] if newest_first else [tsquery]), limit],
        ))

    def search_feed(
        self, query: str, categories: Iterable[str], limit: int
    ) -> tuple[CategoryState, list[StoredItem], list[DeletedEntry]]:
        """(data state, the newest items matching, the deleted entries of the
        withdrawn items that match), from one snapshot."""
        chosen = list(categories)
        with self.snapshot():
            items = self.search(query, chosen, limit, newest_first=True)
            gone = self.search(query, chosen, limit, newest_first=True, among=DELETED_ENTRY)
            return (self.data_state(), items,
                    sorted((DeletedEntry(row.id, row.link, row.withdrawn or "") for row in gone),
                           key=lambda entry: (entry.withdrawn, entry.id), reverse=True))

    @staticmethod
    def _tag_where(slug: str, categories: Iterable[str]) -> tuple[str, list[str]]:
        chosen = list(categories)
        return (
            f"FROM item_tags t JOIN items ON items.id = t.item_id WHERE t.slug = ? AND {SERVED}"
            f" AND {in_categories(chosen)}",
            [slug, *chosen],
        )

    def tag_name(self, slug: str, categories: Iterable[str]) -> str | None:
        """How the newest item tagged `slug` spells it; None when no item is."""
        where, params = self._tag_where(slug, categories)
        row = self.db.execute(f"SELECT t.name {where} ORDER BY t.published DESC LIMIT 1", params).fetchone()
        return str(row[0]) if row else None

    def tag_count(self, slug: str, categories: Iterable[str]) -> int:
        where, params = self._tag_where(slug, categories)
        return int(self.db.execute(f"SELECT count(*) {where}", params).fetchone()[0])

    def tagged(self, slug: str, categories: Iterable[str], limit: int, offset: int = 0) -> list[StoredItem]:
        """Items tagged `slug` in `categories`, newest first (in index order)."""
        where, params = self._tag_where(slug, categories)
        return rows_of(StoredItem, self.db.execute(
            f"SELECT items.* {where} ORDER BY t.published DESC, t.item_id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ))

    def tag_feed(
        self, slug: str, categories: Iterable[str], limit: int
    ) -> tuple[CategoryState, str | None, list[StoredItem], list[DeletedEntry]]:
        """(data state, the tag's name, its newest items, the deleted entries
        it names), from one snapshot."""
        chosen = list(categories)
        with self.snapshot():
            return (self.data_state(), self.tag_name(slug, chosen), self.tagged(slug, chosen, limit),
                    self.tag_deleted_entries(slug, chosen))

    def article_by_link(self, link: str, served: bool = True) -> StoredItem | None:
        """The newsroom article at one of this site's /articles/ addresses
        (with served=False: also one held, withdrawn or blocked, for its
        operator page); a feed entry claiming the same link is never shown
        in its place."""
        return one_of(StoredItem, self.db.execute(
            f"SELECT * FROM items WHERE link = ? AND source LIKE 'articles:%'{f' AND {SERVED}' if served else ''}"
            " LIMIT 1", [link]
        ))

    def preview(self, category: str, limit: int, offset: int = 0) -> list[Preview]:
        """The newest items of a category as a reader sees them, each with the
        other sources that carried the same story (from the duplicates table)."""
        return self._with_other_sources(
            f"SELECT id FROM items WHERE category = ? AND {SERVED} ORDER BY published DESC, id LIMIT ? OFFSET ?",
            [category, limit, offset],
        )

    def tag_preview(self, slug: str, categories: Iterable[str], limit: int, offset: int = 0) -> list[Preview]:
        """Like preview, for the items tagged `slug` in `categories`."""
        where, params = self._tag_where(slug, categories)
        return self._with_other_sources(
            f"SELECT t.item_id AS id {where} ORDER BY t.published DESC, t.item_id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )

    def _with_other_sources(self, page_ids: str, params: list[str | int]) -> list[Preview]:
        """The items `page_ids` selects (in its order), each with the other
        sources that carried the same story."""
        # The page of items is chosen first, so the duplicate lookups (indexed
        # by item_id) run only for the rows shown.
        others = "FROM duplicates d WHERE d.item_id = page.id AND d.source != page.source"
        return rows_of(Preview, self.db.execute(
            f"WITH ids AS ({page_ids}), page AS (SELECT items.id, source, title, link,"
            "  summary, content, author, authors, tags, image, enclosures, comments, published, updated"
            "  FROM ids JOIN items ON items.id = ids.id)"
            f" SELECT page.*, (SELECT count(DISTINCT d.source) {others}) AS other_sources,"
            f"  (SELECT group_concat(DISTINCT d.source) {others}) AS other_source_names"
            " FROM page ORDER BY page.published DESC, page.id",
            params,
        ))
