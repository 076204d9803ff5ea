"""`feedhub run`: granian serving the app, plus the scheduler as a child process.

This is what the Procfile's `web` and `worker` lines do, in one command.  The
scheduler runs in its own process, not inside the web server, so adding web
workers never multiplies the fetching and a fork never copies a running
scheduler.

granian (a Rust HTTP server) runs the WSGI app: measured with bench/serve.py
it serves a warm feed about twice as fast as gunicorn's threaded workers and
a 304 about four times as fast.  No access log by default (it costs 10-20%
of a feed request; `GRANIAN_LOG_ACCESS_ENABLED=true` turns it on).
"""

from __future__ import annotations

import os
import subprocess
import sys

from granian import Granian
from granian.constants import Interfaces
from granian.log import LogLevels

from ..config import Config
from ..store import inuse

# The app factory each web worker calls; it reads $FEEDHUB_CONFIG.
TARGET = "feedhub.web:create_app"
THREADS = 4  # per worker, for the requests that wait on SQLite


def serve(config: Config, config_path: str, host: str, port: int, workers: int, log_level: str | None) -> None:
    # From start to end, as each web worker and the scheduler does too:
    # `feedhub restore` refuses meanwhile (store/inuse.py).
    inuse.announce(config.database)
    # The path, not the loaded config: each web worker then follows edits
    # of feeds.yaml, as the scheduler does.
    os.environ["FEEDHUB_CONFIG"] = config_path
    level = ["--log-level", log_level] if log_level else []  # else the worker follows feeds.yaml's
    worker = subprocess.Popen([sys.executable, "-m", "feedhub.cli", "--config", config_path, *level, "worker"])
    try:
        Granian(
            TARGET, address=host, port=port, interface=Interfaces.WSGI, factory=True,
            workers=workers, blocking_threads=THREADS,
            log_level=LogLevels((log_level or config.log_level).lower()),
            log_access=os.environ.get("GRANIAN_LOG_ACCESS_ENABLED", "").lower() in ("1", "true"),
        ).serve()
    finally:
        worker.terminate()
        worker.wait(timeout=10)
