"""Article files seen, and the house-style lines learned per folder."""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Iterator, Sequence, TypeVar

from .connection import Connection
from .engine import insert_rows
from .rows import CountedFile, FileRecord, FileState, FolderState, HouseLine, clock, iso, one_of


class ArticleFiles(Connection):
    def file_state(self, path: str) -> FileState | None:
        """The record of an article file as last read; None if it never was."""
        return one_of(FileState, self.db.execute("SELECT * FROM article_files WHERE path = ?", [path]))

    def article_folder(self, folder: str, max_errors: int = 20) -> FolderState:
        """What ingest has read under one article folder: how many files, when
        it last read one, and the files that failed (up to max_errors)."""
        # A range on the primary key: every path that starts with "folder/"
        # ("0" is the character right after "/").
        low, high = folder.rstrip("/") + "/", folder.rstrip("/") + "0"
        files, last_read = self.db.execute(
            "SELECT count(*), max(seen) FROM article_files WHERE path >= ? AND path < ?", [low, high]
        ).fetchone()
        errors = self.db.execute(
            "SELECT path, error FROM article_files WHERE path >= ? AND path < ? AND error IS NOT NULL"
            " ORDER BY path LIMIT ?",
            [low, high, max_errors],
        ).fetchall()
        return FolderState(files, last_read, [(path, error) for path, error in errors])

    def file_states(self, paths: Sequence[str]) -> dict[str, FileState]:
        """The records of those of the files read before, in one query, by
        path; without what each was read into (parse is None)."""
        if not paths:
            return {}
        found = self.db.execute(
            "SELECT path, mtime_ns, size, item_id, error, seen, rules FROM article_files"
            f" WHERE path IN ({','.join('?' * len(paths))})", list(paths))
        return {row[0]: FileState(*row) for row in found}

    def record_file(
        self, path: str, mtime_ns: int, size: int, item_id: str | None, error: str | None,
        rules: str | None = None, parse: str | None = None,
    ) -> None:
        self.record_files([(path, mtime_ns, size, item_id, error, rules, parse)])

    def record_files(self, files: Sequence[FileRecord]) -> None:
        """Record article files as read: (path, mtime_ns, size, item_id, error,
        rules, parse) each, in one statement."""
        if not files:
            return
        now = iso(clock())
        latest = {record[0]: record for record in files}  # one row a path: an upsert may not touch a row twice
        with self.transaction() as db:
            insert_rows(db, "article_files", {"path": "TEXT", "mtime_ns": "INTEGER", "size": "INTEGER", "item_id": "TEXT",
                                              "error": "TEXT", "seen": "TEXT", "rules": "TEXT", "parse": "TEXT"},
                        [(path, mtime_ns, size, item_id, error, now, rules, parse)
                         for path, mtime_ns, size, item_id, error, rules, parse in latest.values()],
                        "ON CONFLICT(path) DO UPDATE SET mtime_ns = excluded.mtime_ns, size = excluded.size,"
                        " item_id = excluded.item_id, error = excluded.error, seen = excluded.seen,"
                        " rules = excluded.rules, parse = excluded.parse")

    def article_file(self, item_id: str) -> FileState | None:
        """The record of the file an item was read from."""
        return one_of(FileState, self.db.execute("SELECT * FROM article_files WHERE item_id = ? LIMIT 1", [item_id]))

    def forget_rules(self, folder: str) -> int:
        """Make every file under the folder be read again on the next pass."""
        low, high = folder.rstrip("/") + "/", folder.rstrip("/") + "0"
        with self.transaction() as db:
            return db.execute(
                "UPDATE article_files SET rules = NULL WHERE path >= ? AND path < ?", [low, high]
            ).rowcount

    def story_candidates(self, bands: Iterable[int], per_band: int) -> list[tuple[int, str, tuple[int, ...]]]:
        """(band, story, signature) of the counted files filed under one of
        `bands` (a batch's story prints, see articles/stories.py), at most
        `per_band` of them per band (the first by path): files that all look
        alike (a template's) must not make every lookup read them all."""
        keys = sorted(set(bands))
        if self.db.dialect == "postgresql":
            # Each band's first files straight from the key's index (a window
            # over a band's rows reads them all); the bands in one array.
            filed: Iterable[tuple[int, str, str]] = self.db.execute(
                "SELECT q.band, f.story, f.signature FROM unnest(CAST(?b AS bigint[])) AS q(band)"
                " CROSS JOIN LATERAL (SELECT path FROM house_bands b WHERE b.band = q.band ORDER BY path LIMIT ?)"
                " AS b JOIN house_files f ON f.path = b.path", [keys, per_band])
        else:
            filed = [row for chunk in _chunks(keys) for row in self.db.execute(
                "SELECT band, story, signature FROM (SELECT b.band, f.story, f.signature,"
                "  row_number() OVER (PARTITION BY b.band ORDER BY b.path) AS place"
                "  FROM house_bands b JOIN house_files f ON f.path = b.path"
                f"  WHERE b.band IN ({','.join('?' * len(chunk))})) AS filed WHERE place <= ?", [*chunk, per_band])]
        return [(band, story, tuple(int(value) for value in signature.split())) for band, story, signature in filed]

    def count_house_lines(self, folder: str, files: list[CountedFile]) -> None:
        """Count each file's short lines in its folder, once per STORY: a
        story's lines are those of all its files, so versions and copies of
        one story vote once (articles/stories.py).  What an earlier version
        of a file was counted under is taken back; a batch of files in a few
        statements, not a few per file."""
        with self.transaction() as db:
            paths = [file.path for file in files]
            with db.pipeline():  # the files' earlier records and the folder's count in one round trip
                chunks = [db.execute(f"SELECT path, story, bands FROM house_files WHERE path IN ({','.join('?' * len(chunk))})",
                                     chunk) for chunk in _chunks(paths)]
                found = db.execute("SELECT files FROM house_folders WHERE folder = ?", [folder])
            earlier: dict[str, tuple[str, list[int]]] = {  # path: (its story, its band keys)
                path: (story, [int(band) for band in (bands or "").split()])
                for chunk in chunks for path, story, bands in chunk}
            row = found.fetchone()
            total = row[0] if row else 0
            members = self._story_members({*(story for story, _ in earlier.values()), *(f.story for f in files)})
            # Per story: how many of its files each line is in (a line is the story's while any has it).
            lines_of = {story: Counter(key for keys in paths.values() for key in keys) for story, paths in members.items()}
            delta: Counter[str] = Counter()
            first: dict[str, tuple[str, int]] = {}  # key: (text, stories counted before it first appeared)

            def move(story: str, path: str, joins: bool) -> None:
                """The file joins (or leaves) the story; a line new to (or gone from) the story moves its count."""
                nonlocal total
                files_of, counts = members.setdefault(story, {}), lines_of.setdefault(story, Counter())
                keys = files_of[path] if not joins else file_keys[path]
                total -= bool(files_of)
                if joins:
                    files_of[path] = keys
                else:
                    del files_of[path]
                total += bool(files_of)
                for key in keys:
                    counts[key] += 1 if joins else -1
                    if counts[key] == (1 if joins else 0):
                        delta[key] += 1 if joins else -1

            file_keys = {file.path: set(file.lines) for file in files}
            for file in files:
                if file.path in earlier and file.path in members.get(earlier[file.path][0], {}):
                    move(earlier[file.path][0], file.path, joins=False)
                move(file.story, file.path, joins=True)
                for key, text in file.lines.items():
                    first.setdefault(key, (text, total - 1))
            rows = []
            for key, change in delta.items():
                if change:
                    # A key taken back is always stored already: only its count changes.
                    text, since = first.get(key, ("", 0))
                    rows.append((folder, key, text, change, since))
            with db.pipeline():  # and the writes in another
                db.execute("INSERT INTO house_folders (folder, files) VALUES (?, ?)"
                           " ON CONFLICT(folder) DO UPDATE SET files = excluded.files", [folder, total])
                insert_rows(db, "house_lines", {"folder": "TEXT", "key": "TEXT", "text": "TEXT", "files": "INTEGER",
                                                "since": "INTEGER"}, rows,
                            "ON CONFLICT(folder, key) DO UPDATE SET files = house_lines.files + excluded.files")
                db.executemany("DELETE FROM house_bands WHERE band = ? AND path = ?",
                               sorted((band, path) for path, (_, bands) in earlier.items() for band in bands))
                # One row a path: an upsert may not touch a row twice.
                latest = {file.path: file for file in files}
                insert_rows(db, "house_files", dict.fromkeys(("path", "folder", "keys", "story", "signature", "bands"),
                                                             "TEXT"),
                            [(file.path, folder, " ".join(sorted(file.lines)), file.story,
                              " ".join(map(str, file.signature)) if file.signature else None,
                              " ".join(map(str, file.bands)) or None) for file in latest.values()],
                            "ON CONFLICT(path) DO UPDATE SET keys = excluded.keys, story = excluded.story,"
                            " signature = excluded.signature, bands = excluded.bands")
                insert_rows(db, "house_bands", {"band": "INTEGER", "path": "TEXT"},
                            sorted({(band, file.path) for file in latest.values() for band in file.bands}),
                            "ON CONFLICT DO NOTHING")

    def _story_members(self, stories: set[str]) -> dict[str, dict[str, set[str]]]:
        """{story: {path: its counted keys}} of every file of `stories`."""
        members: dict[str, dict[str, set[str]]] = {}
        for chunk in _chunks(sorted(stories)):
            marks = ",".join("?" * len(chunk))
            for path, story, keys in self.db.execute(
                    f"SELECT path, story, keys FROM house_files WHERE story IN ({marks})", chunk):
                members.setdefault(story, {})[path] = set(keys.split())
        return members

    def house_lines(self, folder: str, min_files: int = 2) -> tuple[int, dict[str, HouseLine]]:
        """(files counted in the folder, {key: HouseLine}) for the lines in at
        least min_files of them."""
        row = self.db.execute("SELECT files FROM house_folders WHERE folder = ?", [folder]).fetchone()
        lines = {
            key: HouseLine(text, files, since, bool(learned))
            for key, text, files, since, learned in self.db.execute(
                "SELECT key, text, files, since, learned FROM house_lines WHERE folder = ? AND files >= ?",
                [folder, min_files])
        }
        return (row[0] if row else 0), lines

    def mark_learned(self, folder: str, keys: Iterable[str]) -> None:
        """Remember which of the folder's lines are its house style now."""
        keys = list(keys)
        with self.transaction() as db:
            db.execute("UPDATE house_lines SET learned = 0 WHERE folder = ? AND learned = 1", [folder])
            db.executemany("UPDATE house_lines SET learned = 1 WHERE folder = ? AND key = ?",
                                [(folder, key) for key in keys])


Value = TypeVar("Value")


def _chunks(values: list[Value]) -> Iterator[list[Value]]:
    """`values` 500 at a time: SQLite takes only so many parameters."""
    for start in range(0, len(values), 500):
        yield values[start:start + 500]
