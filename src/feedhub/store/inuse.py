"""Which processes use an SQLite database, so that `feedhub restore` never
replaces one in use.

SQLite's own locks cannot say it: the worker opens the database per job and
a web server on its first request, so between two jobs, or before the first
request, nothing has the file open, and a restore then would pull the
database from under a running process.  So every feedhub process that uses
an SQLite database holds a shared lock (flock) on a file beside it,
``<database>-lock``: any process while it has a connection open (the store
takes it as it connects), and the web server and the worker for their whole
life (``announce`` as they start).  ``restore`` takes the lock exclusively,
without waiting (``alone``): it is refused while anyone holds it, and while
restore holds it, a process opening the database waits until the new file is
in place, so nothing can open the old file between the check and the switch.

The kernel drops a process's locks when it ends, however it ends (even
killed), so a crash never leaves the database locked.  The lock file stays:
a process that opened it before it was removed would lock a file nobody else
sees.  flock is for one machine's file system, as SQLite's WAL mode is.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from pathlib import Path
from typing import Callable, Iterator

from .engine import is_postgres

log = logging.getLogger(__name__)

# This process's shared locks: lock file -> [descriptor, how many hold it].
_held: dict[Path, list[int]] = {}
_guard = threading.Lock()


class InUse(Exception):
    """Another process uses the database."""


def lock_file(database: Path) -> Path:
    return Path(f"{database.resolve()}-lock")


def announce(location: str | Path) -> Callable[[], None]:
    """Say this process uses the database at `location` until the function
    returned is called (nothing to say for PostgreSQL).  Waits while a
    restore replaces the file."""
    if is_postgres(location):
        return lambda: None
    lock = lock_file(Path(location))
    with _guard:
        entry = _held.get(lock)
        if entry is not None:
            entry[1] += 1
            return _releaser(lock)
    descriptor = _shared(lock, location)  # waits, if it must, outside the guard
    with _guard:
        entry = _held.setdefault(lock, [descriptor, 0])
        entry[1] += 1
    if entry[0] != descriptor:  # another thread took it meanwhile
        os.close(descriptor)
    return _releaser(lock)


def _open(lock: Path) -> int:
    lock.parent.mkdir(parents=True, exist_ok=True)
    return os.open(lock, os.O_RDONLY | os.O_CREAT, 0o644)


def _shared(lock: Path, location: str | Path) -> int:
    descriptor = _open(lock)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        log.warning("the database is being restored: waiting until it is in place", extra={"database": str(location)})
        fcntl.flock(descriptor, fcntl.LOCK_SH)
    return descriptor


def _releaser(lock: Path) -> Callable[[], None]:
    released = False

    def release() -> None:
        nonlocal released
        with _guard:
            if released:
                return
            released = True
            entry = _held[lock]
            entry[1] -= 1
            if entry[1] == 0:
                del _held[lock]
                os.close(entry[0])  # the last use in this process: its lock goes

    return release


@contextlib.contextmanager
def alone(database: Path) -> Iterator[None]:
    """Hold the database for this process alone (InUse if any process,
    this one included, uses it); processes opening it meanwhile wait."""
    descriptor = _open(lock_file(database))
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InUse(str(database)) from None
        yield
    finally:
        os.close(descriptor)
