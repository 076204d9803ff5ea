"""XML bombs and external entities, served over HTTP to a real `feedhub ingest`.

Billion laughs and quadratic blow-up must end fast in little memory with the
source reported (refused before parsing, from the entity declarations); external entities (file:// or http://) must not be read.
"""

from __future__ import annotations

import pyexpat
import subprocess
import sys
import time

import pytest
from helpers import on_sqlite, rows, write_config

from feedhub.config import load_config
from feedhub.remote.parse import ParseError, parse
from feedhub.store import Store

SECRET = "TOPSECRET-6f3a9c"
CHANNEL = '<rss version="2.0"><channel><title>t</title><link>https://x.test/</link><description>d</description>'


def item(title: str, description: str) -> str:
    return f"<item><title>{title}</title><link>https://x.test/{abs(hash(title))}</link><description>{description}</description></item>"


def billion_laughs() -> str:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    return f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]>{CHANNEL}{item("Laughs &lol9;", "&lol9;")}</channel></rss>'


def quadratic() -> str:
    # One 100 kB entity used 50,000 times: 5 GB if expanded.
    return (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{"A" * 100_000}">]>{CHANNEL}'
            f'{item("Quadratic", "&a;" * 50_000)}</channel></rss>')


def external(secret_file, server_url) -> dict[str, str]:
    return {
        "xxe-file": f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "{secret_file.as_uri()}">]>'
                    f'{CHANNEL}{item("File entity &x;", "leak: &x;")}</channel></rss>',
        "xxe-http": f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "{server_url}/exfiltrate">]>'
                    f'{CHANNEL}{item("Http entity &x;", "leak: &x;")}</channel></rss>',
        "xxe-parameter": f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % p SYSTEM "{secret_file.as_uri()}"> %p;]>'
                         f'{CHANNEL}{item("Parameter entity", "plain")}</channel></rss>',
        "external-dtd": f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{server_url}/evil.dtd">'
                        f'{CHANNEL}{item("External DTD", "plain")}</channel></rss>',
    }


def test_this_python_has_an_expat_that_limits_entity_expansion():
    assert pyexpat.version_info >= (2, 4, 1), "expat before 2.4.1 expands billion-laughs documents without limit"


def test_bombs_and_external_entities_do_nothing_harmful(tmp_path, database, feed_server):
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET)
    documents = {"billion-laughs": billion_laughs(), "quadratic": quadratic(),
                 **external(secret_file, feed_server.url),
                 "deep-nesting": f"{CHANNEL}{'<x>' * 5_000}{'</x>' * 5_000}{item('Deep', 'd')}</channel></rss>",
                 "million-elements": f"{CHANNEL}{'<x/>' * 1_000_000}{item('Many', 'm')}</channel></rss>"}
    for name, document in documents.items():
        (feed_server.root / f"{name}.rss").write_text(document)
    names = [*documents, "world-wire"]
    path = write_config(tmp_path, database, sources=[
        {"name": name, "url": f"{feed_server.url}/{name}.rss", "category": "international"} for name in names
    ])
    # The child's peak is VmHWM, not ru_maxrss: Linux carries the parent's
    # high-water mark across fork and exec into ru_maxrss, so that would
    # report pytest's own peak (300 MB late in a full run).
    measure = ("import re, sys; from feedhub.cli import main; code = main(sys.argv[1:]); "
               "status = open('/proc/self/status').read(); "
               "print('peak_rss_mb', int(re.search(r'VmHWM:\\s+(\\d+)', status)[1]) // 1024); sys.exit(code)")
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-c", measure, "--config", str(path), "ingest"],
                         capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert run.returncode == 1, run.stderr  # some sources failed, as they should
    peak_mb = int(run.stdout.split()[-1])
    # The interpreter with feedhub imported is ~70 MB; parsing a bomb would add tens.
    assert elapsed < 20 and peak_mb < 200, (elapsed, peak_mb)

    config = load_config(path)
    with Store(config.database) as store:
        errors = {row.name: row.last_error for row in store.sources()}
        titles = {row["source"]: row["title"] for row in rows(store, "SELECT source, title FROM items")}
    assert errors["billion-laughs"] == "line 1: entity 'lol1' expands to other entities or markup; refused unparsed"
    assert errors["quadratic"] == "line 1: entity 'a' expands to 100,000 characters, over 64; refused unparsed"
    assert "1,000,0" in errors["million-elements"] and "refused unparsed" in errors["million-elements"]
    assert titles["feed:deep-nesting"] == "Deep"
    assert titles["feed:world-wire"], "a good source in the same run is ingested"
    # External entities are not resolved: the entries come through without them.
    assert titles["feed:xxe-file"].startswith("File entity") and titles["feed:xxe-http"].startswith("Http entity")
    assert "feed:xxe-parameter" in titles and "feed:external-dtd" in titles
    requested = [path for path, _ in feed_server.requests]
    assert "/exfiltrate" not in requested and "/evil.dtd" not in requested
    anywhere = " OR ".join(f"{column} LIKE ?" for column in ("title", "summary", "content", "text"))
    assert rows(config, f"SELECT id FROM items WHERE {anywhere}", [f"%{SECRET}%"] * 4) == []
    if on_sqlite(config):  # nor anywhere else in the file
        assert SECRET.encode() not in config.database.read_bytes()
        wal = config.database.with_name(config.database.name + "-wal")
        assert not wal.exists() or SECRET.encode() not in wal.read_bytes()


def test_entities_real_feeds_declare_still_work(tmp_path):
    # A character reference and a short text, declared on lines of their own
    # as a publisher writes them; and the same bombs spread over lines.
    document = ('<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY nbsp "&#160;">\n'
                '<!ENTITY org "Daily Wire Service">\n]>\n'
                f'{CHANNEL}{item("Summit&nbsp;opens", "Reported by &org;.")}</channel></rss>')
    entries = parse(document.encode(), "https://x.test/feed", None)
    assert entries[0]["title"] == "Summit\u00a0opens"
    assert entries[0]["summary"] == "Reported by Daily Wire Service."
    spread = billion_laughs().replace("<!ENTITY", "\n  <!ENTITY")
    with pytest.raises(ParseError, match=r"^line 3: entity 'lol1' expands to other entities"):
        parse(spread.encode(), "https://x.test/feed", None)
