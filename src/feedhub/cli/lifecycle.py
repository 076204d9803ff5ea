"""The commands of a story's life (issue 26): `withdraw` (and `--undo`),
`withdrawals`, and the stories waiting for their embargo that `sources` lists."""

from __future__ import annotations

import argparse
import getpass
import socket
import sys
from datetime import datetime
from pathlib import Path

from ..config import Config
from ..model import from_iso
from ..publish import static
from ..remote import websub
from ..store import Store, StoredItem
from .output import fail, when


def withdraw_story(config: Config, args: argparse.Namespace) -> int:
    """Take a story off every route now (or serve it again, --undo), tell
    the hubs and write the static feeds at once, and record who, when, why."""
    reason = (args.reason or "").strip()
    if not args.undo and not reason:
        return fail("withdraw", 'say why with --reason "..." (kept in the record, never published)')
    who = f"feedhub withdraw ({getpass.getuser()}@{socket.gethostname()})"
    with Store(config.database) as store:
        stories = find_stories(store, args.item)
        if not stories:
            return fail("withdraw", f"no stored story with the id, link or file {args.item!r}", 1)
        before = store.category_versions()
        for story in stories:
            changed = (store.restore if args.undo else store.withdraw)(story.id, who, reason)
            state = ("served again" if args.undo else "withdrawn") if changed else (
                "not withdrawn: nothing to undo" if args.undo else "already withdrawn")
            print(f"{story.title}\n  urn:uuid:{story.id} in {story.category}: {state}")
        # At once, whether a worker runs or not: the feeds' hubs, and the static files.
        websub.announce(config, store, before)
        static.write_changed(config, store, before)
    return 0


def find_stories(store: Store, ref: str) -> list[StoredItem]:
    """The stored stories `ref` names: an item id, a link (to the story or one
    of its copies), or the path of the article file it was read from."""
    found = store.stories(ref)
    if not found and (record := store.file_state(str(Path(ref).resolve()))) and record.item_id:
        found = [row for row in [store.item(record.item_id)] if row]
    return found


def show_withdrawals(config: Config, args: argparse.Namespace) -> int:
    with Store(config.database) as store:
        records = store.withdrawals(limit=args.limit)
    print(f"{len(records)} record{'s' if len(records) != 1 else ''} of stories withdrawn and served again,"
          " newest first")
    for record in records:
        print(f"- {record.at} {'withdrawn' if record.action == 'withdraw' else 'served again'}: {record.title}\n"
              f"  urn:uuid:{record.item_id} ({record.source} in {record.category}), link: {record.link or '(none)'}\n"
              f"  by: {record.who}\n  why: {record.reason or '(not given)'}")
    return 0


def waiting_lines(store: Store, now: datetime) -> list[str]:
    """What `feedhub sources` says of the stories, and the updates of stories, held for their embargo."""
    held = store.held_items()
    lines = [f"{len(held)} stor{'y' if len(held) == 1 else 'ies'} waiting for their embargo" + (":" if held else "")]
    for row in held:
        lines.append(f"- {row.title}\n  {row.source} in {row.category}: goes out {when(from_iso(row.embargo), now)}")
    versions = store.held_versions()
    if versions:
        lines.append(f"{len(versions)} update{'' if len(versions) == 1 else 's'} of stories that are out waiting for"
                     " their embargo (shown in their story's place then, if still its newest version):")
    for version in versions:
        lines.append(f"- {version.title}\n  {version.source} in {version.category}, for urn:uuid:{version.item_id}:"
                     f" goes out {when(from_iso(version.held_until), now)}")
    return lines
