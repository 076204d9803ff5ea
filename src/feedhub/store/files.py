"""Article files seen, and the house-style lines learned per folder."""

from __future__ import annotations

from typing import Iterable, Sequence

from .connection import Connection
from .rows import FileRecord, FileState, FolderState, HouseLine, clock, iso, one_of


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
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO article_files (path, mtime_ns, size, item_id, error, seen, rules, parse)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET mtime_ns = excluded.mtime_ns,"
                " size = excluded.size, item_id = excluded.item_id, error = excluded.error, seen = excluded.seen,"
                " rules = excluded.rules, parse = excluded.parse",
                [(path, mtime_ns, size, item_id, error, iso(clock()), rules, parse)
                 for path, mtime_ns, size, item_id, error, rules, parse in files])

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

    def count_house_lines(self, folder: str, files: list[tuple[str, dict[str, str]]]) -> None:
        """Count each file's short lines ({key: text}) in its folder, taking
        back what an earlier version of a file was counted under; a batch of
        files in a few statements, not a few per file."""
        with self.transaction() as db:
            paths = [path for path, _ in files]
            with db.pipeline():  # the reads in one round trip
                chunks = [db.execute(f"SELECT path, keys FROM house_files WHERE path IN ({','.join('?' * len(chunk))})",
                                     chunk) for chunk in (paths[start:start + 500] for start in range(0, len(paths), 500))]
                found = db.execute("SELECT files FROM house_folders WHERE folder = ?", [folder])
            counted = {path: set(keys.split()) for chunk in chunks for path, keys in chunk}
            row = found.fetchone()
            total = row[0] if row else 0
            delta: dict[str, int] = {}
            first: dict[str, tuple[str, int]] = {}  # key: (text, files counted before it first appeared)
            for path, lines in files:
                before = counted.get(path)
                if before is None:
                    total, before = total + 1, set()
                for key in before - lines.keys():
                    delta[key] = delta.get(key, 0) - 1
                for key in lines.keys() - before:
                    delta[key] = delta.get(key, 0) + 1
                    first.setdefault(key, (lines[key], total - 1))
            rows = []
            for key, change in delta.items():
                if change:
                    # A key taken back is always stored already: only its count changes.
                    text, since = first.get(key, ("", 0))
                    rows.append((folder, key, text, change, since))
            with db.pipeline():  # and the writes in another
                db.execute("INSERT INTO house_folders (folder, files) VALUES (?, ?)"
                           " ON CONFLICT(folder) DO UPDATE SET files = excluded.files", [folder, total])
                db.executemany(
                    "INSERT INTO house_lines (folder, key, text, files, since) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT(folder, key) DO UPDATE SET files = house_lines.files + excluded.files",
                    rows,
                )
                db.executemany(
                    "INSERT INTO house_files (path, folder, keys) VALUES (?, ?, ?)"
                    " ON CONFLICT(path) DO UPDATE SET keys = excluded.keys",
                    [(path, folder, " ".join(sorted(lines))) for path, lines in files],
                )

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
