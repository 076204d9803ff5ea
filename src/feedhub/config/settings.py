"""Config: the whole of feeds.yaml, its top-level settings, and the checks
that span sections (a source's category exists, names are unique, ...)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, IPvAnyNetwork, field_validator, model_validator

from .rulespecs import RuleLists
from .sections import ArticleDir, Backup, Category, Operators, Partner, RateLimits, Retention, SavedSearch, Site, Source
from .values import KEY, Database, Duration, HttpUrl, LogLevel, Size


class Config(RuleLists):
    site: Site
    # $DATABASE_URL, when set, takes the place of this (see load_config).
    database: Database = Path("data/feedhub.db")
    feed_size: int = Field(default=50, ge=1, le=1000)
    fetch_timeout: Duration = 20
    # Hostile-input limits for remote sources (see remote/fetchguard.py).
    fetch_max_bytes: Size = 10 * 1024**2
    fetch_max_time: Duration = 60
    # Private, loopback, link-local and other non-public addresses are refused
    # unless listed here, e.g. [10.0.0.0/8] for a feed on the office network.
    fetch_allow_networks: list[IPvAnyNetwork] = Field(default_factory=list)
    # Sources fetched at once in a cycle; a slow source holds up only its slot.
    fetch_concurrency: int = Field(default=8, ge=1, le=64)
    # Longest wait between retries of a failing source (backoff doubles up to it).
    max_backoff: Duration = 6 * 3600
    # How long a worker holds a source or article folder it runs (see
    # worker/claims.py): another worker takes it over after that if the
    # holder died.  Longer than a fetch and its filing can take.
    worker_lease: Duration = 15 * 60
    log_level: LogLevel = "INFO"
    # How long readers and proxies may reuse a served feed without asking again.
    feed_max_age: Duration = 300
    # How long a withdrawn story stays named in its category's Atom feeds as
    # an RFC 6721 deleted entry (worker/lifecycle.py).
    deleted_entries_for: Duration = 30 * 86400
    # WebSub hubs told about every category that changed in an ingest pass.
    hubs: list[HttpUrl] = Field(default_factory=list)
    # Items kept forever unless set; see Retention.
    retention: Retention = Field(default_factory=Retention)
    # Scheduled backups by the worker; none unless set.
    backup: Backup | None = None
    # Static publishing (publish/static.py): the worker writes public feeds here.
    static_dir: Path | None = None
    categories: dict[str, Category]
    # Access control (see publish/access.py).
    operators: Operators = Field(default_factory=Operators)
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed.
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list)
    partners: dict[str, Partner] = Field(default_factory=dict)
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    articles: list[ArticleDir] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    searches: dict[str, SavedSearch] = Field(default_factory=dict)

    @field_validator("categories")
    @classmethod
    def _valid_keys(cls, categories: dict[str, Category]) -> dict[str, Category]:
        if not categories:
            raise ValueError("expected at least one category")
        for key in categories:
            if not KEY.match(key):
                raise ValueError(f"category key {key!r}: expected lower-case letters, digits, '-' or '_'")
        return categories

    @field_validator("searches")
    @classmethod
    def _valid_search_keys(cls, searches: dict[str, SavedSearch]) -> dict[str, SavedSearch]:
        for key in searches:
            if not KEY.match(key):
                raise ValueError(f"search key {key!r}: expected lower-case letters, digits, '-' or '_'")
        return searches

    @model_validator(mode="after")
    def _cross_references(self) -> "Config":
        if self.worker_lease < self.fetch_max_time:
            raise ValueError(
                f"worker_lease ({self.worker_lease} s) is shorter than fetch_max_time ({self.fetch_max_time} s):"
                " another worker would fetch a source while the first still reads it"
            )
        names = [source.name for source in self.sources]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"source name {name!r} is used twice")
        for source in self.sources:
            if source.category not in self.categories:
                raise ValueError(
                    f"source {source.name!r}: category {source.category!r} is not one of "
                    f"{sorted(self.categories)}"
                )
        for name, partner in self.partners.items():
            if not KEY.match(name):
                raise ValueError(f"partner {name!r}: expected lower-case letters, digits, '-' or '_'")
            for key in partner.categories:
                if key not in self.categories:
                    raise ValueError(f"partner {name!r}: category {key!r} is not one of {sorted(self.categories)}")
        hashes = [key.hash for partner in self.partners.values() for key in partner.keys]
        if len(set(hashes)) < len(hashes):
            raise ValueError("two partner keys have the same hash: give each key its own")
        for key, saved in self.searches.items():
            for category in saved.categories:
                if category not in self.categories:
                    raise ValueError(f"search {key!r}: category {category!r} is not one of {sorted(self.categories)}")
        return self

    def engine_mismatches(self, named_by: str = "") -> list[tuple[str, str]]:
        """(top-level key, why) of each setting the database's engine cannot
        carry out.  Not a validator: $DATABASE_URL may name the database
        after the file is read (see load_config); `named_by` says so."""
        found = []
        if self.backup is not None and not isinstance(self.database, Path):
            found.append(("backup", f"scheduled backups copy an SQLite file, and the database{named_by} is"
                                    " PostgreSQL: back it up with pg_dump or your provider's snapshots, and"
                                    " remove `backup:`"))
        return found

    def category_for_section(self, section: str) -> str | None:
        """Map an article's section line (any case, or an alias) to a category key."""
        wanted = section.strip().casefold()
        for key, category in self.categories.items():
            if wanted == key.casefold() or wanted in (a.casefold() for a in category.aliases):
                return key
        return None

    def category_key(self, name: str) -> str | None:
        """The category key for a name in a URL, matched case-insensitively."""
        return self.category_for_section(name)

    def retention_for(self, category: str) -> Retention:
        """The retention of one category: its own keys over the top-level ones."""
        own = self.categories[category].retention
        return own.over(self.retention) if own else self.retention

    def source(self, name: str) -> Source | None:
        return next((s for s in self.sources if s.name == name), None)
