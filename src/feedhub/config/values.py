"""The kinds of value feeds.yaml writes, each parsed and checked in one
place: durations, sizes, URLs, names, database locations and log levels;
and `Strict`, the base of every section (unknown keys are refused)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict


class Strict(BaseModel):
    """A feeds.yaml section: only its own keys, frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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


def parse_http_url(value: Any) -> str:
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an absolute http(s) URL, got {value!r}")
    return str(value)


def parse_database(value: Any) -> Path | str:
    """An SQLite file path, or a PostgreSQL URL (postgresql://user:pass@host/name)."""
    text = str(value).strip()
    if text.startswith(("postgresql://", "postgres://")):
        if not urlsplit(text).hostname and "host=" not in text:
            raise ValueError(f"a PostgreSQL URL needs a host, as in postgresql://user@db.example.org/feedhub; got {text!r}")
        return text
    if "://" in text:
        raise ValueError(f"expected a file path (SQLite) or a postgresql:// URL, got {text!r}")
    return Path(text)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def parse_log_level(value: Any) -> str:
    level = str(value).upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return level


Duration = Annotated[int, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
HttpUrl = Annotated[str, BeforeValidator(parse_http_url)]
Database = Annotated[Path | str, BeforeValidator(parse_database)]
LogLevel = Annotated[str, BeforeValidator(parse_log_level)]
# The names of categories, sources, partners and saved searches (they appear in URLs).
KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
