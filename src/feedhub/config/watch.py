"""ConfigFile: feeds.yaml as operators edit it while feedhub runs."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path


class ConfigFile:
    """feeds.yaml on disk: whether it changed since it was last looked at,
    and when it was last written."""

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
