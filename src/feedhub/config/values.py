"""The kinds of value feeds.yaml writes, each parsed and checked in one
place: durations, sizes, URLs, names, database locations and log levels;
and `Strict`, the base of every section (unknown keys are refused)."""

from __future__ import annotations

import re
import types
import typing
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo, field_validator


class Strict(BaseModel):
    """A feeds.yaml section: only its own keys, frozen once read, and no
    true/false where a number is meant (pydantic would read true as 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name in _number_fields(cls):
            raise ValueError(f"expected a number, got {str(value).lower()} (YAML reads true/false, yes/no"
                             " and on/off as yes-or-no values)")
        return value


@cache
def _number_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields of `model` that take an int or a float and not a bool."""
    found = set()
    for name, field in model.model_fields.items():
        kinds = _types(field.annotation)
        if kinds & {int, float} and bool not in kinds:
            found.add(name)
    return frozenset(found)


def _types(annotation: Any) -> set[Any]:
    """The types a (possibly union or annotated) annotation admits."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return {kind for arg in typing.get_args(annotation) for kind in _types(arg)}
    if typing.get_origin(annotation) is Annotated:
        return _types(typing.get_args(annotation)[0])
    return {annotation}


# The longest duration any setting takes: past it an interval or a lease
# would end beyond what dates can hold, and no schedule needs more.
MAX_DURATION = 365 * 86400
_DURATION = re.compile(r"^\s*(\d+)\s*(s|sec|m|min|h|hr|d)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400}


def parse_duration(value: Any) -> int:
    """'90', '30s', '15m', '2h', '1d' or an int of seconds -> seconds,
    from 10 seconds to 365 days."""
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
    if seconds > MAX_DURATION:
        raise ValueError(f"expected at most 365 days ('365d'), got {value!r}")
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
