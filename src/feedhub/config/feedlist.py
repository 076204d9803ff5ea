"""Moving source lists in and out of feeds.yaml as OPML.

Import appends the feeds of an OPML file to the ``sources:`` list of
feeds.yaml.  The file is edited with ruamel.yaml's round-trip mode, so the
operator's comments, key order and other sections stay as they were.  The
edited document is validated exactly as `feedhub check-config` would before
it replaces the file (atomically), so an import can never leave a
configuration the worker would reject.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..publish import opml
from .loading import ConfigError, load_config
from .sections import Source
from .settings import Config
from .values import KEY


@dataclass
class ImportResult:
    added: list[Source] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # outlines left out, and why
    problems: list[str] = field(default_factory=list)  # outlines that could not be imported


def import_opml(
    config_path: Path, data: bytes, name: str, category: str | None = None, interval: str | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Add the OPML document's feeds as sources; OpmlError or ConfigError if it cannot."""
    config = load_config(config_path)
    if category and category not in config.categories:
        raise ConfigError(f"--category {category!r} is not one of {sorted(config.categories)}")
    result = ImportResult()
    entries: list[dict[str, str]] = []  # the sources to add, as feeds.yaml spells them
    known_urls = {s.url: s.name for s in config.sources if s.url}
    names = {s.name for s in config.sources}
    for outline in opml.read(data, name):
        label = f"{outline.text!r} ({outline.xml_url})"
        if outline.xml_url in known_urls:
            result.skipped.append(f"{label}: already the source {known_urls[outline.xml_url]!r}")
            continue
        key = category or _category(config, outline.category)
        if key is None:
            folder = f"its folder {outline.category!r} is not" if outline.category else "it has no folder naming"
            result.problems.append(f"{label}: {folder} a category of feeds.yaml (give --category, or add an alias)")
            continue
        entry = {"name": _unique_name(outline.text or outline.xml_url, names), "url": outline.xml_url, "category": key}
        if interval:
            entry["interval"] = interval
        try:
            source = Source.model_validate(entry)
        except ValidationError as exc:
            result.problems.append(f"{label}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}")
            continue
        names.add(source.name)
        known_urls[outline.xml_url] = source.name
        result.added.append(source)
        entries.append(entry)  # as the operator would write it: interval "15m", not 900
    if entries and not dry_run:
        _append_sources(config_path, entries)
    return result


def _category(config: Config, folder: str) -> str | None:
    """The category an OPML folder or category attribute ("/News/World") means."""
    for candidate in (folder, folder.strip("/").rsplit("/", 1)[-1]):
        if candidate and (key := config.category_for_section(candidate)):
            return key
    return None


def _unique_name(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")[:40].strip("-") or "feed"
    if not KEY.match(base):
        base = f"feed-{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def _append_sources(config_path: Path, entries: list[dict[str, str]]) -> None:
    yaml = YAML()  # round-trip: comments and layout survive
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    document = yaml.load(config_path.read_text(encoding="utf-8"))
    sources = document.get("sources")
    if not isinstance(sources, CommentedSeq):
        sources = document["sources"] = CommentedSeq()
    sources.fa.set_block_style()  # `sources: []` becomes a block list
    for entry in entries:
        sources.append(CommentedMap(entry))
    text = io.StringIO()
    yaml.dump(document, text)
    _replace_checked(config_path, text.getvalue())


def _replace_checked(config_path: Path, text: str) -> None:
    """Write `text` over feeds.yaml only if it validates; atomically."""
    # In the same folder: relative paths resolve the same, os.replace is atomic.
    handle, temp = tempfile.mkstemp(prefix=".feeds-", suffix=".yaml", dir=config_path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        try:
            load_config(temp)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace(temp, str(config_path))) from None
        os.replace(temp, config_path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def export_opml(config: Config, moved: dict[str, str], retired: set[str], created: datetime | None = None) -> tuple[bytes, list[str]]:
    """OPML of the remote sources (at the address they moved to, if they did),
    and notes on the sources left out."""
    outlines, notes = [], []
    for source in config.sources:
        if source.url is None:
            notes.append(f"{source.name}: a local file ({source.path}), not a URL a reader could follow")
        elif source.name in retired:
            notes.append(f"{source.name}: retired (the publisher answered 410 Gone)")
        else:
            outlines.append(opml.Outline(text=source.name, xml_url=moved.get(source.name) or source.url,
                                         category=source.category))
    return opml.write(f"{config.site.title}: sources", outlines, created), notes
