"""The commands about newsroom article folders: `boilerplate` (the house
style learned), `dropped` (what one article was read into) and `rerender`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..articles.boilerplate import MIN_FILES, MIN_SHARE, learned
from ..config import ArticleDir, Config, ConfigError
from ..ingest.folders import ingest_folder
from ..ingest.summary import FAILED, Summary
from ..store import Store
from .output import fail, format_summary


def folders(config: Config, wanted: str | None) -> list[ArticleDir]:
    """The article folders named on the command line (path or name), or all."""
    if not wanted:
        return list(config.articles)
    path = str(Path(wanted).resolve())
    found = [f for f in config.articles if str(f.path) == path or f.path.name == wanted]
    if not found:
        names = ", ".join(str(f.path) for f in config.articles) or "none"
        raise ConfigError(f"no article folder {wanted!r} in the configuration (folders: {names})")
    return found


def show_boilerplate(config: Config, args: argparse.Namespace) -> int:
    with Store(config.database) as store:
        for folder in folders(config, args.folder):
            total, lines = store.house_lines(str(folder.path))
            house = learned(lines, total)
            print(f"{folder.path}: {total} files counted; a line is house style once in {MIN_FILES}+ files "
                  f"and {MIN_SHARE:.0%}+ of those read since it first appeared")
            ranked = sorted(lines.values(), key=lambda line: (-line.files, line.text))
            for title, chosen in (("learned (dropped)", True), ("seen in several files, not learned", False)):
                rows = [line for key, line in lines.items() if (key in house) == chosen]
                rows = [line for line in ranked if line in rows]
                print(f"  {title}: {len(rows)}")
                for line in rows[:50]:
                    print(f"    {line.files:>5} of {total - line.since:<5} {line.text}")
            for label, patterns in (("feeds.yaml boilerplate", folder.boilerplate), ("feeds.yaml keep_lines", folder.keep_lines)):
                if patterns:
                    print(f"  {label}: " + ", ".join(patterns))
    return 0


def show_dropped(config: Config, args: argparse.Namespace) -> int:
    with Store(config.database) as store:
        records = [store.file_state(str(Path(args.item).resolve()))]
        if not records[0]:
            records = [store.article_file(story.id) for story in store.stories(args.item)]
    found = [(record, record.parse) for record in records if record and record.parse]
    if not found:
        return fail(args.command, f"no article file read into {args.item!r} (an item id, its link, or the file's path)", 1)
    for record, parsed in found:
        parse = json.loads(parsed)
        print(record.path)
        for field in ("authors", "published", "updated", "tags", "image", "caption", "credit"):
            value = parse.get(field)
            print(f"  {field + ':':<10} {(', '.join(value) if isinstance(value, list) else value) or '-'}")
        print(f"  {len(parse['dropped'])} lines left out of the body:")
        for number, line, why in parse["dropped"]:
            print(f"    line {number:>3}: {line}  [{why}]")
        for warning in parse["warnings"]:
            print(f"  warning: {warning}")
    return 0


def rerender_articles(config: Config, args: argparse.Namespace) -> int:
    summary = Summary()
    with Store(config.database) as store:
        for folder in folders(config, args.folder):
            print(f"{folder.path}: {store.forget_rules(str(folder.path))} files to read again")
            summary.merge(ingest_folder(config, store, folder))
    print(format_summary(summary))
    return 1 if summary.total(FAILED) else 0
