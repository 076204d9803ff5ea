"""What an operator sees: `feedhub sources`, `stats`, `enable`, OPML import and
export, the ingest progress bar, and the log lines."""

from __future__ import annotations

import fcntl
import logging
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
import yaml
from helpers import REPO, write_config

from feedhub import logs
from feedhub.cli import main
from feedhub.config import load_config
from feedhub.publish import opml
from feedhub.store import Store


@pytest.fixture
def troubled(tmp_path: Path, database: str, feed_server):
    """A feeds.yaml with one source of each kind of trouble, ingested once."""
    feed_server.overrides["/busy.rss"] = (503, {"Retry-After": "120"}, b"")
    feed_server.overrides["/gone.rss"] = (410, {}, b"")
    feed_server.overrides["/old.rss"] = (301, {"Location": f"{feed_server.url}/tech-daily.atom"}, b"")
    path = write_config(tmp_path, database, sources=[
        feed_server.source("wire", "world-wire.rss", "international"),
        feed_server.source("partner", "syndicated.rss", "international"),
        feed_server.source("busy", "busy.rss", "business"),
        feed_server.source("gone", "gone.rss", "business"),
        feed_server.source("moved", "old.rss", "technology"),
    ])
    main(["--config", str(path), "ingest"])
    # A source added after the ingest has never been fetched.
    path = write_config(tmp_path, database, sources=[
        *yaml.safe_load(path.read_text())["sources"],
        feed_server.source("later", "rdf-10.rdf", "sports"),
    ])
    return path, load_config(path), feed_server


def run(capsys, path, *args) -> tuple[int, str, str]:
    code = main(["--config", str(path), *args])
    out, err = capsys.readouterr()
    return code, out, err


def block(out: str, name: str) -> list[str]:
    """The table line of one source and its indented detail lines."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == [name])
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("    ")), len(lines))
    return lines[start:end]


def test_sources_shows_status_last_fetch_error_and_next_run(troubled, capsys):
    path, _, server = troubled
    code, out, _ = run(capsys, path, "sources")
    assert code == 0
    wire = block(out, "wire")
    assert wire[0].split()[1:3] == ["ok", "international"] and "ago)" in wire[0] and "(in 15m)" in wire[0]
    busy = block(out, "busy")
    assert busy[0].split()[1] == "failing" and busy[0].split()[-1] == "1"
    assert "last error: HTTP 503 Service Unavailable" in busy[2]
    gone = block(out, "gone")
    assert gone[0].split()[1] == "retired" and "never (retired)" in gone[0]
    assert "410" in gone[-1]
    moved = block(out, "moved")
    assert f"address: {server.url}/old.rss" in moved[1]
    assert f"moved permanently to: {server.url}/tech-daily.atom" in moved[2]
    later = block(out, "later")
    assert later[0].split()[1] == "new" and "never" in later[0] and "at worker start" in later[0]


def test_stats_counts_items_and_duplicates_per_category(troubled, capsys):
    path, config, _ = troubled
    code, out, _ = run(capsys, path, "stats")
    assert code == 0
    with Store(config.database) as store:
        items = store.count("items", category="international")
        duplicates = store.count("duplicates", category="international")
    assert duplicates >= 1
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert lines["international"] == [str(items), str(duplicates)]
    assert lines["sports"] == ["0", "0"]
    assert "sources: 6 (ok 3, failing 1, retired 1, new 1)" in out
    assert "failing: busy (1 failures; last error: HTTP 503 Service Unavailable)" in out
    assert "retired: gone" in out


def test_enable_brings_a_retired_source_back(troubled, capsys):
    path, config, server = troubled
    server.overrides.pop("/gone.rss")
    (server.root / "gone.rss").write_bytes((server.root / "legacy-091.rss").read_bytes())
    code, out, _ = run(capsys, path, "enable", "gone")
    assert code == 0 and "enabled" in out
    run(capsys, path, "ingest")
    with Store(config.database) as store:
        assert store.count("items", source="feed:gone") == 4
        assert store.source_state("gone").retired == 0
    assert run(capsys, path, "enable", "nope")[0] == 2


def test_export_opml_lists_remote_sources_at_their_current_address(troubled, capsys, tmp_path: Path):
    path, _, server = troubled
    code, _, err = run(capsys, path, "export-opml", "-o", str(tmp_path / "out.opml"))
    assert code == 0
    feeds = {o.text: o for o in opml.read((tmp_path / "out.opml").read_bytes())}
    assert set(feeds) == {"wire", "partner", "busy", "moved", "later"}
    assert feeds["moved"].xml_url == f"{server.url}/tech-daily.atom"
    assert feeds["wire"].xml_url == f"{server.url}/world-wire.rss" and feeds["wire"].category == "international"
    assert "left out gone: retired" in err


OPML = b"""<?xml version="1.0"?>
<opml version="2.0"><head><title>Reader export</title></head><body>
  <outline text="World">
    <outline type="rss" text="Harbour Gazette" xmlUrl="https://gazette.example.org/rss.xml"/>
    <outline type="rss" text="Wire again" xmlUrl="https://wire.example.org/rss"/>
  </outline>
  <outline text="Cooking"><outline type="rss" text="Soup" xmlUrl="https://soup.example.com/rss"/></outline>
  <outline type="rss" text="Chip News" xmlUrl="https://chips.example.com/atom" category="/News/Tech"/>
  <outline type="rss" text="Old FTP" xmlUrl="ftp://old.example.com/feed" category="TECH"/>
</body></opml>
"""


@pytest.fixture
def commented(tmp_path: Path) -> Path:
    """The bundled, commented feeds.yaml with one remote source added."""
    text = (REPO / "feeds.yaml").read_text(encoding="utf-8").replace("path: examples/", f"path: {REPO}/examples/")
    text = text.replace("sources:  ", "sources:\n  - name: wire\n    url: https://wire.example.org/rss\n    category: international\n  ", 1)
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    load_config(path)
    (tmp_path / "reader.opml").write_bytes(OPML)
    return path


def test_import_opml_appends_sources_and_keeps_the_file(commented: Path, capsys):
    before = commented.read_text(encoding="utf-8")
    code, out, err = run(capsys, commented, "import-opml", str(commented.parent / "reader.opml"))
    assert code == 1, "some outlines could not be imported"
    after = commented.read_text(encoding="utf-8")
    assert after.startswith(before.rstrip("\n")), "the file is only appended to: comments and layout kept"
    config = load_config(commented)
    added = {s.name: s for s in config.sources[-2:]}
    assert set(added) == {"harbour-gazette", "chip-news"}
    assert added["harbour-gazette"].category == "international" and added["chip-news"].category == "technology"
    assert "skipped 'Wire again' (https://wire.example.org/rss): already the source 'wire'" in out
    assert "'Soup' (https://soup.example.com/rss): its folder 'Cooking' is not a category" in err
    assert "'Old FTP' (ftp://old.example.com/feed): expected an absolute http(s) URL" in err
    # With a category for everything, the rest goes in; a second run adds nothing.
    code, out, _ = run(capsys, commented, "import-opml", str(commented.parent / "reader.opml"), "--category", "business", "--interval", "1h")
    assert load_config(commented).source("soup").interval == 3600
    assert run(capsys, commented, "import-opml", str(commented.parent / "reader.opml"), "--category", "business")[2].count("not imported") == 1


def test_import_opml_changes_nothing_on_a_dry_run_or_bad_input(commented: Path, capsys):
    before = commented.read_bytes()
    opml_file = str(commented.parent / "reader.opml")
    code, out, _ = run(capsys, commented, "import-opml", opml_file, "--dry-run")
    assert "would add harbour-gazette" in out
    code, _, err = run(capsys, commented, "import-opml", opml_file, "--category", "weather")
    assert code == 2 and "--category 'weather' is not one of" in err
    code, _, err = run(capsys, commented, "import-opml", opml_file, "--interval", "soon")
    assert code == 1 and "expected a duration" in err
    (commented.parent / "broken.opml").write_bytes(b"<opml><body><outline text='x'>")
    code, _, err = run(capsys, commented, "import-opml", str(commented.parent / "broken.opml"))
    assert code == 2 and "broken.opml:1: not well-formed XML" in err
    assert commented.read_bytes() == before


def test_import_into_a_file_with_an_empty_source_list(tmp_path: Path, database: str, capsys):
    path = write_config(tmp_path, database)  # `sources: []`
    (tmp_path / "reader.opml").write_bytes(OPML)
    run(capsys, path, "import-opml", str(tmp_path / "reader.opml"), "--category", "sports")
    assert [s.name for s in load_config(path).sources] == ["harbour-gazette", "wire-again", "soup", "chip-news"]


def test_an_unreachable_database_is_one_line_not_a_traceback(tmp_path: Path):
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    path = write_config(tmp_path, "postgresql://feedhub@127.0.0.1:1/feedhub")
    run = subprocess.run([sys.executable, "-m", "feedhub.cli", "--config", str(path), "sources"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.startswith("feedhub sources: cannot connect to postgresql://feedhub@127.0.0.1:1/feedhub:")


def test_ingest_shows_a_progress_bar_only_on_a_terminal(tmp_path: Path, database: str, articles_dir: Path, capsys):
    path = write_config(tmp_path, database, articles=[{"path": str(articles_dir)}])
    assert main(["--config", str(path), "ingest"]) == 0
    out, err = capsys.readouterr()
    assert "input/s" not in err and out.splitlines()[0].split()[0] == "input"
    (articles_dir / "extra.txt").write_text("SPORTS\n\nLate Winner\n\nA late goal won it.\n")
    controller, terminal = pty.openpty()
    # A terminal of no width shows tqdm no bar at all; give it a real one.
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    result = subprocess.Popen([sys.executable, "-m", "feedhub.cli", "--config", str(path), "ingest"],
                              stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    result.stdout = result.stdout.read()
    result.wait(timeout=60)
    assert result.returncode == 0
    assert b"0/1 [" in shown and b"input/s" in shown
    assert result.stdout.decode().splitlines()[-1].split() == ["total", "1", "0", str(len(list(articles_dir.glob("*.txt"))) - 1), "0", "0"]


@pytest.fixture
def root_logging():
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


def test_logs_are_key_value_lines_at_the_configured_level(root_logging, capsys):
    logs.setup("WARNING")
    log = logging.getLogger("feedhub.test")
    log.info("not shown")
    log.warning('source "retired"', extra={"source": "wire", "failures": 3})
    err = capsys.readouterr().err.strip()
    assert "not shown" not in err
    assert err.split(" ", 1)[0].startswith("time=20")
    assert err.split(" ", 1)[1] == 'level=warning logger=feedhub.test msg="source \\"retired\\"" source=wire failures=3'
    # The flag or environment wins over feeds.yaml, even after a reload.
    logs.setup("WARNING", override="debug")
    logs.set_level("ERROR")
    log.debug("shown")
    assert "msg=shown" in capsys.readouterr().err


def test_log_level_comes_from_the_environment_or_the_config(root_logging, tmp_path: Path, database: str, monkeypatch, capsys):
    path = write_config(tmp_path, database, log_level="error")
    main(["--config", str(path), "check-config"])
    assert logging.getLogger().level == logging.ERROR
    monkeypatch.setenv("FEEDHUB_LOG_LEVEL", "debug")
    main(["--config", str(path), "check-config"])
    assert logging.getLogger().level == logging.DEBUG
    (tmp_path / "feeds.yaml").write_text(path.read_text().replace("log_level: error", "log_level: loud"))
    assert main(["--config", str(path), "check-config"]) == 2
    assert "log_level: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'loud'" in capsys.readouterr().err
