"""The clock of the feedhub processes a test starts (`feedhub run`, its
worker and its web workers), set by the test: with $FEEDHUB_TEST_CLOCK
naming a file, feedhub's clock (model.utcnow, which the store's and the
worker's times go through) reads the real time plus the seconds written in
that file, read again on every call.  The test writes a new offset to move
the clock; nothing waits.

Python imports a module of this name at start-up from any folder on its
path: tests/running.py puts this folder first on PYTHONPATH for the
processes it starts, and no other process ever sees it."""

from __future__ import annotations

import os

if os.environ.get("FEEDHUB_TEST_CLOCK"):
    from datetime import datetime, timedelta
    from pathlib import Path

    from feedhub import model

    _offsets = Path(os.environ["FEEDHUB_TEST_CLOCK"])
    _real = model.utcnow

    def _set_by_the_test() -> datetime:
        try:
            offset = float(_offsets.read_text(encoding="utf-8") or 0)
        except (OSError, ValueError):
            offset = 0.0
        return _real() + timedelta(seconds=offset)

    # Before any other feedhub module is imported, so every `from ..model import utcnow` gets this one.
    model.utcnow = _set_by_the_test
