"""Structured logging: one `key=value` line per event (logfmt).

    time=2026-11-25T13:02:11Z level=warning logger=feedhub.ingest.feeds msg="source retired: HTTP 410 Gone" source=wire

Anything passed as ``extra={...}`` to a logging call becomes more keys.  The
level comes from --log-level, else $FEEDHUB_LOG_LEVEL, else feeds.yaml's
``log_level``; only the last follows a reload of feeds.yaml.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import TYPE_CHECKING, TextIO

# Attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
_BARE = re.compile(r"^[^\s=\"\\]+$")
_override: str | None = None


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields.update((k, v) for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_"))
        if record.exc_info:
            fields["error"] = self.formatException(record.exc_info)
        return " ".join(f"{key}={_value(value)}" for key, value in fields.items())


def _value(value: object) -> str:
    text = "" if value is None else str(value)
    if _BARE.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


if TYPE_CHECKING:
    _StreamHandler = logging.StreamHandler[TextIO]
else:
    _StreamHandler = logging.StreamHandler  # a generic at run time only from Python 3.11


class _Stderr(_StreamHandler):
    """Writes to whatever sys.stderr is at the time (tests swap it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def setup(config_level: str = "INFO", override: str | None = None) -> None:
    """Log logfmt lines to stderr; `override` (flag or env) beats the config."""
    global _override
    _override = override.upper() if override else None
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(handler)
    handler = _Stderr()
    handler.setFormatter(LogfmtFormatter())
    root.addHandler(handler)
    set_level(config_level)


def set_level(config_level: str) -> None:
    """The level feeds.yaml asks for, unless the flag or environment set one."""
    level = _override or config_level
    logging.getLogger().setLevel(level)
    # APScheduler reports every job run at INFO: only worth seeing when debugging.
    logging.getLogger("apscheduler").setLevel(level if level == "DEBUG" else "WARNING")
