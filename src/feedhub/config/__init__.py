"""feeds.yaml: what operators write, validated before anything runs.

The file is parsed with PyYAML and checked with pydantic models that forbid
unknown keys.  Every problem is reported as one line naming the file, the line,
the key path and what was expected, so an operator can fix it without reading
this code.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone, tzinfo
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    ValidationError,
    field_validator,
    model_validator,
)

from ..dedup.decide import DEFAULT_THRESHOLD
from ..store import search

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, where PyYAML was built with it


class ConfigError(Exception):
    """A feeds.yaml that cannot be used; str() is the operator-facing message."""


_DURATION = re.compile(r"^\s*(\d+)\s*(s|sec|m|min|h|hr|d)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400}


def parse_duration(value: Any) -> int:
    """'90', '30s', '15m', '2h', '1d' or an int of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like '30s', '15m' or '1h'")
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"expected a duration like '30s', '15m' or '1h', got {value!r}")
        seconds = int(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "s").lower()]
    if seconds < 10:
        raise ValueError(f"expected at least 10 seconds, got {seconds}")
    return seconds


def _http_url(value: Any) -> str:
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an absolute http(s) URL, got {value!r}")
    return str(value)


_SIZE = re.compile(r"^\s*(\d+)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_UNIT_BYTES = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}


def parse_size(value: Any) -> int:
    """'512kB', '10MB' or an int of bytes -> bytes (units are powers of 1024)."""
    match = None if isinstance(value, bool) else _SIZE.match(str(value))
    if not match:
        raise ValueError(f"expected a size like '512kB' or '10MB', got {value!r}")
    size = int(match.group(1)) * _UNIT_BYTES[(match.group(2) or "b").lower()]
    if size < 1024:
        raise ValueError(f"expected at least 1kB, got {size} bytes")
    return size


Duration = Annotated[int, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
HttpUrl = Annotated[str, BeforeValidator(_http_url)]
KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


RULE_FIELDS = ("title", "content", "author", "tags", "link")


class RuleSpec(Strict):
    """One keep/block rule: plain words (matched in title and content, any
    case), or a regular expression (RE2 syntax) over one field."""

    words: str | None = None
    field: str | None = None  # title, content, author, tags or link; both title and content when absent
    regex: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain_string(cls, value: Any) -> Any:
        return {"words": value} if isinstance(value, str) else value

    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str | None) -> str | None:
        if value is not None and value not in RULE_FIELDS:
            raise ValueError(f"expected one of {', '.join(RULE_FIELDS)}, got {value!r}")
        return value

    @field_validator("words")
    @classmethod
    def _some_words(cls, value: str | None) -> str | None:
        if value is not None:
            from ..ingest.rules import words_pattern

            words_pattern(value)
        return value

    @field_validator("regex")
    @classmethod
    def _linear_time_pattern(cls, value: str | None) -> str | None:
        if value is not None:
            from ..ingest.rules import compile_pattern

            compile_pattern(value)
        return value

    @model_validator(mode="after")
    def _one_form(self) -> "RuleSpec":
        if (self.words is None) == (self.regex is None):
            raise ValueError("expected a plain string of words, or a mapping with 'regex' (and optionally 'field')")
        if self.words is not None and self.field is not None:
            raise ValueError("'field' goes with 'regex'; plain words match title and content")
        return self


class Rules(Strict):
    """block: entries matching any of these are not published; keep: when
    given, only entries matching one of these are."""

    block: list[RuleSpec] = Field(default_factory=list)
    keep: list[RuleSpec] = Field(default_factory=list)


class Site(Strict):
    title: str
    link: HttpUrl
    description: str = ""
    language: str = "en"

    @field_validator("link")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


class Retention(Strict):
    """How long stored items are kept (see retention.py).  An item goes when it
    is older than `days` or not among the newest `items` of its category,
    whichever comes first; a limit left out (or null) does not apply.  The
    items of a feed's first page are always kept."""

    days: int | None = Field(default=None, ge=1)
    items: int | None = Field(default=None, ge=1)
    # How long a pruned story's dedup keys are remembered, so that a source
    # still carrying it does not get it published again.
    tombstone_days: int = Field(default=365, ge=1)

    def over(self, general: "Retention") -> "Retention":
        """These settings, with the keys not written here taken from `general`."""
        return general.model_copy(update={key: getattr(self, key) for key in self.model_fields_set})


class Backup(Strict):
    """Scheduled backups: a consistent copy of the database every `every`
    seconds into the folder `path`, keeping the newest `keep`."""

    path: Path
    every: Duration = 86400
    keep: int = Field(default=7, ge=1)


class Category(Rules):
    title: str
    description: str = ""
    aliases: list[str] = Field(default_factory=list)
    # Two stories in this category are the same one when at least this share
    # of the shorter one's word triples is in the other.  On the evaluation set
    # (bench/dedup.py) rewrites score at least 0.65 and different stories on
    # one topic at most 0.31 (a follow-up repeating a paragraph of background),
    # so 0.5 sits mid-gap.  The exception no threshold fixes: a brief that is
    # only a paragraph another, longer story repeats word for word (0.85).
    near_duplicate_threshold: float = Field(default=DEFAULT_THRESHOLD, gt=0, le=1)
    # Served only to requests carrying a key of a partner given this category.
    private: bool = False
    # This category's own retention; keys left out come from the top-level one.
    retention: Retention | None = None


class ArticleDir(Strict):
    path: Path
    interval: Duration = 60
    # Extra boilerplate line patterns (regular expressions matched against a
    # whole line, case-insensitively), on top of the built-in ones.
    boilerplate: list[str] = Field(default_factory=list)
    # Lines never dropped, whatever rule would drop them (same form): the
    # allow-list for a line the curated or learned rules get wrong.
    keep_lines: list[str] = Field(default_factory=list)
    # The zone of dates the folder's files write without one (an IANA name
    # such as Europe/Stockholm); UTC by default.
    timezone: str = "UTC"

    @field_validator("boilerplate", "keep_lines")
    @classmethod
    def _valid_patterns(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return patterns

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}; expected an IANA name such as Europe/London or UTC") from None
        return name

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone)


class Source(Rules):
    name: str
    category: str
    # A remote feed, or a feed file dropped on this machine by a partner.
    url: HttpUrl | None = None
    path: Path | None = None
    interval: Duration = 900
    # Lower number wins when the same story arrives from several sources.
    priority: int = 100
    # Fetch the page of each teaser-only entry and publish its article.
    full_text: bool = False
    # Fetch those pages even where the site's robots.txt disallows it (only
    # with the publisher's permission).
    full_text_ignore_robots: bool = False

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not KEY.match(value):
            raise ValueError("expected lower-case letters, digits, '-' or '_'")
        return value

    @model_validator(mode="after")
    def _one_location(self) -> "Source":
        if (self.url is None) == (self.path is None):
            raise ValueError("give exactly one of 'url' (a remote feed) or 'path' (a local feed file)")
        return self

    @property
    def location(self) -> str:
        return self.url or str(self.path)


# The addresses local tools use (not all of 127.0.0.0/8, so a test can
# stand for another machine at 127.0.0.2).
LOOPBACK = ["127.0.0.1/32", "::1/128"]
KEY_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")


class Operators(Strict):
    """Who may open the operator pages (/sources, /metrics): a request from
    one of these networks, and with the token when one is set."""

    allow_networks: list[IPvAnyNetwork] = Field(default_factory=lambda: [ip_network(n) for n in LOOPBACK])
    token: str | None = Field(default=None, min_length=16)


class Partner(Strict):
    """A partner's key (as `feedhub hash-key` prints its hash) and the
    private categories it may read."""

    key_hash: str
    categories: list[str] = Field(min_length=1)

    @field_validator("key_hash")
    @classmethod
    def _valid_hash(cls, value: str) -> str:
        if not KEY_HASH.match(value):
            raise ValueError("expected 'sha256:' and 64 hex digits, as `feedhub hash-key` prints")
        return value


class RateLimit(Strict):
    """At most `requests` feed requests per `per` seconds, refilled steadily."""

    requests: int = Field(ge=1)
    per: Duration


class RateLimits(Strict):
    address: RateLimit | None = None  # per client address, for requests without a valid key
    key: RateLimit | None = None  # per partner key


class SavedSearch(Strict):
    """A full-text search served as a feed (/feeds/search/<key>.rss)."""

    query: str
    categories: list[str] = Field(default_factory=list)  # none: every category
    title: str = ""  # the feed's title; the query when empty
    description: str = ""

    @field_validator("query")
    @classmethod
    def _parses(cls, query: str) -> str:
        return search.check(query)  # a SearchError is a ValueError: reported with file and line


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(value: Any) -> str:
    level = str(value).upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return level


LogLevel = Annotated[str, BeforeValidator(_log_level)]


def _database(value: Any) -> Path | str:
    """An SQLite file path, or a PostgreSQL URL (postgresql://user:pass@host/name)."""
    text = str(value).strip()
    if text.startswith(("postgresql://", "postgres://")):
        if not urlsplit(text).hostname and "host=" not in text:
            raise ValueError(f"a PostgreSQL URL needs a host, as in postgresql://user@db.example.org/feedhub; got {text!r}")
        return text
    if "://" in text:
        raise ValueError(f"expected a file path (SQLite) or a postgresql:// URL, got {text!r}")
    return Path(text)


Database = Annotated[Path | str, BeforeValidator(_database)]


class Config(Rules):
    site: Site
    # $DATABASE_URL, when set, takes the place of this (see load_config).
    database: Database = Path("data/feedhub.db")
    feed_size: int = Field(default=50, ge=1, le=1000)
    fetch_timeout: Duration = 20
    # Hostile-input limits for remote sources (see fetchguard.py).
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
    # leases.py): another worker takes it over after that if the holder
    # died.  Longer than a fetch and its filing can take.
    worker_lease: Duration = 15 * 60
    log_level: LogLevel = "INFO"
    # How long readers and proxies may reuse a served feed without asking again.
    feed_max_age: Duration = 300
    # How long a withdrawn story stays named in its category's Atom feeds as
    # an RFC 6721 deleted entry (worker/release.py).
    deleted_entries_for: Duration = 30 * 86400
    # WebSub hubs told about every category that changed in an ingest pass.
    hubs: list[HttpUrl] = Field(default_factory=list)
    # Items kept forever unless set; see Retention.
    retention: Retention = Field(default_factory=Retention)
    # Scheduled backups by the worker; none unless set.
    backup: Backup | None = None
    # Static publishing (staticfeeds.py): the worker writes public feeds here.
    static_dir: Path | None = None
    categories: dict[str, Category]
    # Access control (see access.py).
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
        hashes = [partner.key_hash for partner in self.partners.values()]
        if len(set(hashes)) < len(hashes):
            raise ValueError("two partners have the same key_hash: give each partner its own key")
        for key, saved in self.searches.items():
            for category in saved.categories:
                if category not in self.categories:
                    raise ValueError(f"search {key!r}: category {category!r} is not one of {sorted(self.categories)}")
        return self

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


class ConfigFile:
    """feeds.yaml as operators edit it while feedhub runs: whether it changed
    since it was last looked at, and when it was last written."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.stamp = self._stamp()

    def changed(self) -> bool:
        """True once per change of the file (the first look after it)."""
        stamp = self._stamp()
        if stamp == self.stamp:
            return False
        self.stamp = stamp
        return True

    def modified(self) -> datetime | None:
        """When the file was last written, in UTC, or None if it cannot be read."""
        return datetime.fromtimestamp(self.stamp[0] // 10**9, timezone.utc) if self.stamp else None

    def _stamp(self) -> tuple[int, int, int] | None:
        # Size and inode too: an editor's partial write and final write can
        # share an mtime tick, and a save by rename changes the inode.
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size, stat.st_ino


def load_config(path: str | Path) -> Config:
    """Read and validate feeds.yaml; relative paths in it are taken from its folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        # Parsed once, by libyaml when PyYAML has it (a tenth of the time
        # of the pure-Python parser, which every `feedhub` command pays).
        loader = YAML_LOADER(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
        lines = _line_numbers(node)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'site' and 'categories' at the top")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(path, exc, lines)) from None
    if os.environ.get("DATABASE_URL"):  # the Procfile platforms' convention
        try:
            config = config.model_copy(update={"database": _database(os.environ["DATABASE_URL"])})
        except ValueError as exc:
            raise ConfigError(f"$DATABASE_URL: {exc}") from None
    return _resolve_paths(config, path.parent)


def _resolve_paths(config: Config, base: Path) -> Config:
    def resolve(p: Path) -> Path:
        return p if p.is_absolute() else (base / p).resolve()

    return config.model_copy(
        update={
            "database": resolve(config.database) if isinstance(config.database, Path) else config.database,
            "backup": config.backup.model_copy(update={"path": resolve(config.backup.path)}) if config.backup else None,
            "static_dir": resolve(config.static_dir) if config.static_dir else None,
            "articles": [a.model_copy(update={"path": resolve(a.path)}) for a in config.articles],
            "sources": [
                s.model_copy(update={"path": resolve(s.path)}) if s.path else s for s in config.sources
            ],
        }
    )


# Where a value sits in feeds.yaml: keys and list indexes from the top, as
# pydantic's error locations and _line_numbers both spell it.
KeyPath = tuple[int | str, ...]


def _describe(path: Path, exc: ValidationError, lines: dict[KeyPath, int]) -> str:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        # Pydantic adds the union branch or validator name to some locations.
        loc = tuple(part for part in loc if not (isinstance(part, str) and ("[" in part or part.startswith("function-"))))
        key_path = _format_path(loc) or "(top level)"
        line = _nearest_line(loc, lines)
        where = f"{path}:{line}" if line else str(path)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (check its spelling)"
        elif error["type"] == "missing":
            message = "required key is missing"
        problems.append(f"{where}: {key_path}: {message}")
    return "\n".join(problems)


def _format_path(loc: KeyPath) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _nearest_line(loc: KeyPath, lines: dict[KeyPath, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _line_numbers(node: yaml.Node | None, prefix: KeyPath = ()) -> dict[KeyPath, int]:
    """Map each key path in the YAML document to its 1-based line number."""
    found: dict[KeyPath, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = prefix + (key.value,)
            found[path] = key.start_mark.line + 1
            found.update(_line_numbers(value, path))
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            found[prefix + (index,)] = value.start_mark.line + 1
            found.update(_line_numbers(value, prefix + (index,)))
    return found
