"""Storage on SQLite or PostgreSQL (engine.py): items, their dedup keys,
duplicates, sources and files seen.

One ``Store`` is one connection; open one per thread.  Every write happens in a
transaction, so a crash leaves either the whole item (row, keys, category
stamp) or nothing.  Callers may group many writes in one outer transaction (a
batch of files, one feed's entries): each write inside it is then a savepoint
that fails alone, and the batch costs one commit instead of one per item.
The schema is created and migrated by ``MIGRATIONS``, numbered by SQLite's
``user_version`` or PostgreSQL's ``schema_version`` table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..dedup.candidates import Match
from ..model import BLOCKED, DUPLICATE, NEW, UNCHANGED, UPDATED, Lease, Outcome, PageState, SourceState
from .blocked import Blocked
from .counters import Counters
from .files import ArticleFiles
from .leases import Leases
from .pruning import Pruning
from .rows import (
    MEDIA_COLUMNS,
    CategoryCounts,
    CategoryState,
    CountedFile,
    DeletedEntry,
    Duplicate,
    FileState,
    FolderState,
    Heartbeat,
    HouseLine,
    ItemCounts,
    PageHealth,
    Preview,
    StoredCounter,
    StoredEntry,
    StoredItem,
    SubjectRow,
    Withdrawal,
    iso,
    item_from_row,
)
from .schema import MIGRATIONS, index_queued
from .sources import Sources
from .views import Views


class Store(Views, Blocked, Pruning, Sources, ArticleFiles, Counters, Leases):
    """The whole store on one connection: each base class is one part, in a
    module of its own (Views reads on top of Items, which files them; Blocked
    holds back what rules block), and all share ``transaction()``."""


if TYPE_CHECKING:
    from .protocol import StoreProtocol

    def _satisfies(store: Store) -> StoreProtocol:
        return store  # mypy checks Store against every signature of the Protocol


__all__ = [
    "BLOCKED",
    "DUPLICATE",
    "MEDIA_COLUMNS",
    "MIGRATIONS",
    "NEW",
    "UNCHANGED",
    "UPDATED",
    "CategoryCounts",
    "CategoryState",
    "CountedFile",
    "DeletedEntry",
    "Duplicate",
    "FileState",
    "FolderState",
    "Heartbeat",
    "HouseLine",
    "ItemCounts",
    "Lease",
    "Match",
    "Outcome",
    "PageHealth",
    "PageState",
    "Preview",
    "SourceState",
    "Store",
    "StoredCounter",
    "StoredEntry",
    "StoredItem",
    "SubjectRow",
    "Withdrawal",
    "index_queued",
    "iso",
    "item_from_row",
]
