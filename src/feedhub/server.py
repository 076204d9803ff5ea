"""`feedhub run`: gunicorn serving the app, plus the scheduler as a child process.

This is what the Procfile's `web` and `worker` lines do, in one command.  The
scheduler runs in its own process, not inside gunicorn, so adding web workers
never multiplies the fetching and a fork never copies a running scheduler.
"""

from __future__ import annotations

import subprocess
import sys

from gunicorn.app.base import BaseApplication

from .config import Config
from .web import create_app


class _Server(BaseApplication):
    def __init__(self, config_path: str, options: dict):
        self.config_path = config_path
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # The path, not the loaded config: each web worker then follows
        # edits of feeds.yaml, as the scheduler does.
        return create_app(self.config_path)


def serve(config: Config, config_path: str, host: str, port: int, workers: int, log_level: str | None) -> None:
    worker: list[subprocess.Popen] = []

    def on_starting(server) -> None:
        # Without an explicit level the worker follows feeds.yaml's, reloads included.
        level = ["--log-level", log_level] if log_level else []
        command = [sys.executable, "-m", "feedhub.cli", "--config", config_path, *level, "worker"]
        worker.append(subprocess.Popen(command))

    def on_exit(server) -> None:
        for process in worker:
            process.terminate()
            process.wait(timeout=10)

    _Server(
        config_path,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": 4,
            "accesslog": "-",
            "loglevel": (log_level or config.log_level).lower(),
            "on_starting": on_starting,
            "on_exit": on_exit,
        },
    ).run()
