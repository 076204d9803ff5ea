"""load_config: feeds.yaml read, validated, and its paths resolved; every
problem reported as one line naming the file, the line, the key path and
what was expected, so an operator can fix it without reading this code."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import ValidationError

from .settings import Config
from .values import parse_database
from .yamlfile import KeyPath, YamlRefused, read_yaml


class ConfigError(Exception):
    """A feeds.yaml that cannot be used; str() is the operator-facing message."""


def load_config(path: str | Path) -> Config:
    """Read and validate feeds.yaml; relative paths in it are taken from its folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        data, lines = read_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except YamlRefused as refused:
        key_path = _format_path(refused.path)
        raise ConfigError(f"{path}:{refused.line}: {key_path + ': ' if key_path else ''}{refused}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'site' and 'categories' at the top")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(path, exc, lines)) from None
    if os.environ.get("DATABASE_URL"):  # the Procfile platforms' convention
        try:
            config = config.model_copy(update={"database": parse_database(os.environ["DATABASE_URL"])})
        except ValueError as exc:
            raise ConfigError(f"$DATABASE_URL: {exc}") from None
    named_by = " named by $DATABASE_URL" if os.environ.get("DATABASE_URL") else ""
    problems = [f"{_where(path, (key,), lines)}: {key}: {why}" for key, why in config.engine_mismatches(named_by)]
    if problems:
        raise ConfigError("\n".join(problems))
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


def describe(path: Path, exc: ValidationError, lines: dict[KeyPath, int]) -> str:
    """pydantic's errors as lines of `file:line: key.path: what was expected`."""
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        # Pydantic adds the union branch or validator name to some locations.
        loc = tuple(part for part in loc if not (isinstance(part, str) and ("[" in part or part.startswith("function-"))))
        key_path = _format_path(loc) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (check its spelling)"
        elif error["type"] == "missing":
            message = "required key is missing"
        problems.append(f"{_where(path, loc, lines)}: {key_path}: {message}")
    return "\n".join(problems)


def _where(path: Path, loc: KeyPath, lines: dict[KeyPath, int]) -> str:
    """`file:line` of the key at `loc` (or of the nearest key above it)."""
    line = _nearest_line(loc, lines)
    return f"{path}:{line}" if line else str(path)


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
