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
from .engine import DatabaseUnavailable
from .files import ArticleFiles
from .filings import Filings
from .held import HeldVersions
from .items import entry_key, unchanged
from .leases import Leases
from .partners import Partners
from .pruning import Pruning
from .rows import (
    MEDIA_COLUMNS,
    CategoryCounts,
    CategoryState,
    CountedFile,
    DeletedEntry,
    Closer,
    Duplicate,
    FileRecord,
    FileState,
    FolderState,
    Found,
    Heartbeat,
    HouseLine,
    ItemCounts,
    PageHealth,
    PartnerPulls,
    Preview,
    StoredCounter,
    StoredEntry,
    StoredItem,
    SubjectRow,
    Withdrawal,
    Triple,
    iso,
    item_from_row,
)
from .schema import MIGRATIONS, index_queued
from .sources import Sources
from .views import Views


class Store(Views, Blocked, Filings, HeldVersions, Pruning, Sources, ArticleFiles, Counters, Leases, Partners):
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
    "Closer",
    "DatabaseUnavailable",
    "Duplicate",
    "FileRecord",
    "FileState",
    "FolderState",
    "Found",
    "Heartbeat",
    "HouseLine",
    "ItemCounts",
    "Lease",
    "Match",
    "Outcome",
    "PageHealth",
    "PageState",
    "PartnerPulls",
    "Preview",
    "SourceState",
    "Store",
    "StoredCounter",
    "StoredEntry",
    "StoredItem",
    "SubjectRow",
    "Withdrawal",
    "Triple",
    "entry_key",
    "index_queued",
    "iso",
    "item_from_row",
    "unchanged",
]
