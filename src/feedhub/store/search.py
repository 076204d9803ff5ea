"""Full-text search over stored items: the index's shape and the query language.

The index is an SQLite FTS5 table (built and kept in step by the store's
``_search`` migration and triggers) of each item's title, body text and tags,
with accents and case folded.  A query is FTS5's own language: words (all
must match), ``"exact phrases"``, ``OR``, ``NOT``, ``AND``, parentheses,
``prefix*`` and ``title:`` / ``body:`` / ``tags:`` to look in one column.
Results are ranked by BM25, a title match weighing most, among the newest
RANK_WINDOW matches.
"""

from __future__ import annotations

import re
import sqlite3
import threading

COLUMNS = ("title", "body", "tags")
# remove_diacritics 2: "Kyïv" and "Kyiv", "café" and "cafe" are one word.
TOKENIZE = "unicode61 remove_diacritics 2"
# BM25 weight of a match in each column, in COLUMNS order.
RANK = "bm25(10.0, 1.0, 5.0)"
# Ranked results come from the newest this many matches (the most recently
# filed): BM25 must score every match it sorts, so a word found in most of
# 100,000 stories would otherwise cost half a second a query (bench/search.py).
RANK_WINDOW = 2_000
MAX_QUERY = 300  # characters; a search box, not a program
SYNTAX = 'words, "exact phrases", OR, NOT, AND, (…), prefix*, and title: body: tags:'


class SearchError(ValueError):
    """A query that cannot be run; str() says why, for the person who wrote it."""


_local = threading.local()


def check(query: str) -> str:
    """The query, stripped, if FTS5 can parse it; SearchError if not."""
    query = (query or "").strip()
    if not query:
        raise SearchError("the search is empty")
    if len(query) > MAX_QUERY:
        raise SearchError(f"the search is {len(query)} characters long, over {MAX_QUERY}")
    if "\x00" in query:
        raise SearchError("the search contains a NUL character")
    # Parsed against an empty index of the same columns: FTS5 reads the whole
    # query before it looks at any row, so every syntax error shows here.
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = sqlite3.connect(":memory:")
        conn.execute(f"CREATE VIRTUAL TABLE probe USING fts5({', '.join(COLUMNS)}, tokenize='{TOKENIZE}')")
    try:
        conn.execute("SELECT rowid FROM probe WHERE probe MATCH ?", [query]).fetchall()
    except sqlite3.Error as exc:
        reason = str(exc).removeprefix("fts5: ")
        raise SearchError(f"cannot read the search {query!r}: {reason}; write {SYNTAX}") from None
    return query


# PostgreSQL: the same three columns, weighted A (title), B (tags) and C
# (body) in one text-search document of the row; ts_rank's weights for
# D, C, B, A follow RANK's proportions (ts_rank takes weights up to 1).
DOCUMENT = "feedhub_search_document(items.title, items.tags, items.text)"
POSTGRES_WEIGHTS = "{0.01, 0.1, 0.5, 1.0}"
POSTGRES_SCHEMA = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    # unaccent() with its dictionary named is immutable in fact; declared so,
    # an index may use it.
    "CREATE FUNCTION feedhub_fold(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE"
    " RETURN public.unaccent('public.unaccent'::regdictionary, coalesce(value, ''))",
    "CREATE FUNCTION feedhub_search_document(title text, tags text, body text) RETURNS tsvector"
    " LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN"
    " setweight(to_tsvector('simple', feedhub_fold(title)), 'A')"
    " || setweight(to_tsvector('simple', feedhub_fold(tags)), 'B')"
    " || setweight(to_tsvector('simple', feedhub_fold(body)), 'C')",
    f"CREATE INDEX items_search ON items USING GIN (({DOCUMENT}))",
]
_WEIGHT = {"title": "A", "tags": "B", "body": "C"}
_TOKEN = re.compile(r'"[^"]*"|\(|\)|[^\s()"]+')


def to_tsquery(query: str) -> str:
    """A query in FTS5's language (check() accepted it) as PostgreSQL's
    tsquery: a phrase's words in order (<->), prefix* as word:*, title: /
    body: / tags: as the column's weight, OR, NOT and AND as |, & ! and &,
    and words side by side joined by &."""
    parts: list[str] = []
    pending = ""  # the column a "column:" token names for the phrase after it
    for token in _TOKEN.findall(query):
        if token.endswith(":") and token[:-1] in _WEIGHT:
            pending = _WEIGHT[token[:-1]]
            continue
        if token in ("(", ")"):
            if token == "(" and parts and parts[-1] not in ("(", "|", "&", "& !"):
                parts.append("&")
            parts.append(token)
            continue
        if token in ("OR", "AND", "NOT"):
            parts.append({"OR": "|", "AND": "&", "NOT": "& !"}[token])
            continue
        column, _, term = token.partition(":") if ":" in token and not token.startswith('"') else ("", "", token)
        weight, pending = _WEIGHT.get(column, pending), ""
        prefix = term.endswith("*")
        words = re.findall(r"\w+", term, re.UNICODE)
        if not words:
            continue
        marks = [f"'{word}'" + (":" + weight if weight else "") for word in words]
        if prefix:
            marks[-1] = f"'{words[-1]}':*{weight}"
        if parts and parts[-1] not in ("(", "|", "&", "& !"):
            parts.append("&")
        parts.append(marks[0] if len(marks) == 1 else "(" + " <-> ".join(marks) + ")")
    return " ".join(parts)
