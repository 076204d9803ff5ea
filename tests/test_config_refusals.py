"""feeds.yaml that would fail later is refused when it is read, with its file
and line: durations past their bound, keys written twice, true/false where
a number is meant, settings the database engine cannot carry out, and
YAML whose aliases or nesting would cost more than the file says.

Each is checked through load_config and through `feedhub check-config` in
a real process (the message an operator sees, exit status 2, no traceback).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from feedhub.config import ConfigError, load_config

HEAD = "site:\n  title: Hub\n  link: http://hub.test\ncategories:\n  world:\n    title: World\n"  # lines 1-6
SOURCE = "sources:\n  - name: wire\n    url: http://wire.test/rss\n    category: world\n"  # lines 7-10


def refused(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    """The message load_config refuses `text` with, after checking that
    `feedhub check-config` prints the same and nothing else."""
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    run = subprocess.run([sys.executable, "-m", "feedhub.cli", "--config", str(path), "check-config"],
                         capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == f"feedhub: invalid configuration:\n{caught.value}\n"
    return str(caught.value)


def loads(tmp_path: Path, text: str) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(text, encoding="utf-8")
    load_config(path)


def test_a_duration_past_a_year_is_refused_with_its_bound(tmp_path: Path):
    message = refused(tmp_path, HEAD + SOURCE + "    interval: 100000000d\n")
    assert message == (f"{tmp_path / 'feeds.yaml'}:11: sources[0].interval: "
                       "expected at most 365 days ('365d'), got '100000000d'")
    loads(tmp_path, HEAD + SOURCE + "    interval: 365d\n")


def test_the_bound_holds_for_every_duration_written_in_seconds_too(tmp_path: Path):
    message = refused(tmp_path, HEAD + "worker_lease: 31536001\nbackup:\n  path: backups\n  every: 400d\n")
    assert message.splitlines() == [
        f"{tmp_path / 'feeds.yaml'}:7: worker_lease: expected at most 365 days ('365d'), got 31536001",
        f"{tmp_path / 'feeds.yaml'}:10: backup.every: expected at most 365 days ('365d'), got '400d'",
    ]


def test_retention_days_and_priorities_are_bounded_too(tmp_path: Path):
    message = refused(tmp_path, HEAD + SOURCE + "    priority: 100000000000000000000\n"
                      "retention:\n  days: 100000000\n")
    assert message.splitlines() == [
        f"{tmp_path / 'feeds.yaml'}:13: retention.days: Input should be less than or equal to 36500",
        f"{tmp_path / 'feeds.yaml'}:11: sources[0].priority: Input should be less than or equal to 1000000000",
    ]


def test_sources_and_the_worker_never_meet_an_unbounded_interval(tmp_path: Path):
    """Before, `feedhub sources` crashed with OverflowError on such a file."""
    path = tmp_path / "feeds.yaml"
    path.write_text(HEAD + SOURCE + "    interval: 100000000d\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "feedhub.cli", "--config", str(path), "sources"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert f"{path}:11: sources[0].interval: expected at most 365 days" in run.stderr


def test_a_top_level_key_written_twice_is_refused_at_the_second(tmp_path: Path):
    text = HEAD + SOURCE + "feed_size: 20\nsources:\n  - name: other\n    url: http://other.test/rss\n    category: world\n"
    message = refused(tmp_path, text)
    assert message == (f"{tmp_path / 'feeds.yaml'}:12: sources: written twice in one mapping (first on line 7);"
                       " YAML would keep only this one and drop the other: merge them into one")


@pytest.mark.parametrize("text, line, key", [
    (HEAD + "    title: Again\n", 7, "categories.world.title"),
    (HEAD + SOURCE + "    url: http://elsewhere.test/rss\n", 11, "sources[0].url"),
    (HEAD.replace("  title: Hub\n", "  title: Hub\n  link: http://other.test\n"), 4, "site.link"),
])
def test_a_key_written_twice_at_any_depth_is_refused(tmp_path: Path, text: str, line: int, key: str):
    message = refused(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'feeds.yaml'}:{line}: {key}: written twice in one mapping (first on line")


@pytest.mark.parametrize("setting, line, key", [
    ("feed_size: true\n", 7, "feed_size"),
    ("retention:\n  days: yes\n", 8, "retention.days"),
    ("    near_duplicate_threshold: on\n", 7, "categories.world.near_duplicate_threshold"),
    ("rate_limits:\n  address: {requests: true, per: 1h}\n", 8, "rate_limits.address.requests"),
])
def test_a_yes_or_no_where_a_number_is_meant_is_refused(tmp_path: Path, setting: str, line: int, key: str):
    message = refused(tmp_path, HEAD + setting)
    assert message.startswith(f"{tmp_path / 'feeds.yaml'}:{line}: {key}: expected a number, got ")
    assert message.endswith("(YAML reads true/false, yes/no and on/off as yes-or-no values)")


def test_yes_or_no_settings_still_take_yes_and_no(tmp_path: Path):
    path = tmp_path / "feeds.yaml"
    path.write_text(HEAD + "    private: yes\n" + SOURCE + "    full_text: true\n", encoding="utf-8")
    config = load_config(path)
    assert config.categories["world"].private and config.sources[0].full_text


BACKUP = "backup:\n  path: backups\n  every: 1d\n"  # lines 8-10 after the database line


def test_scheduled_backups_with_a_postgresql_database_are_refused(tmp_path: Path):
    message = refused(tmp_path, HEAD + "database: postgresql://feedhub@db.test/feedhub\n" + BACKUP)
    assert message == (f"{tmp_path / 'feeds.yaml'}:8: backup: scheduled backups copy an SQLite file, and the"
                       " database is PostgreSQL: back it up with pg_dump or your provider's snapshots, and"
                       " remove `backup:`")


def test_so_are_they_when_database_url_names_postgresql(tmp_path: Path, monkeypatch):
    url = "postgresql://feedhub@db.test/feedhub"
    monkeypatch.setenv("DATABASE_URL", url)
    message = refused(tmp_path, HEAD + "database: data/feedhub.db\n" + BACKUP, env={"DATABASE_URL": url})
    assert message.startswith(f"{tmp_path / 'feeds.yaml'}:8: backup: scheduled backups copy an SQLite file,"
                              " and the database named by $DATABASE_URL is PostgreSQL: back it up with pg_dump")
    monkeypatch.delenv("DATABASE_URL")
    loads(tmp_path, HEAD + "database: data/feedhub.db\n" + BACKUP)


def alias_bomb(levels: int) -> str:
    """Nine words, then lists of nine aliases of the list before: 9^levels
    words once expanded (the billion laughs)."""
    lines = ["bomb:", '  l1: &l1 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"  l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]" for n in range(2, levels + 1)]
    return HEAD + "\n".join(lines) + "\n"  # l2 is on line 9, l5 on line 12


def test_an_alias_bomb_is_refused_at_the_alias_that_passes_the_bound(tmp_path: Path):
    # Seven levels: 4.8 million words, which took 12 s and 1.3 GB to refuse
    # as an unknown key before aliases were bounded (bench/yaml_aliases.py).
    message = refused(tmp_path, alias_bomb(7))
    assert message == (f"{tmp_path / 'feeds.yaml'}:12: the alias *l4 takes what aliases add to this file past"
                       " 10,000 values (each alias repeats all its anchor holds); write the values out, or use"
                       " fewer aliases")


def test_aliases_that_share_a_rule_list_are_read(tmp_path: Path):
    text = (HEAD + "    block: &ads [sponsored content, {field: title, regex: '(?i)^ad:'}]\n"
            "  business:\n    title: Business\n    block: *ads\n")
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    assert config.categories["business"].block == config.categories["world"].block
    assert [rule.words for rule in config.categories["business"].block] == ["sponsored content", None]


def test_an_alias_inside_what_it_names_is_refused(tmp_path: Path):
    message = refused(tmp_path, HEAD + "    aliases: &loop [world, *loop]\n")
    assert message == (f"{tmp_path / 'feeds.yaml'}:7: the alias *loop is inside &loop, the list or mapping it"
                       " repeats: it would never end")


@pytest.mark.parametrize("depth", [100, 1_000_000])  # a million crashed libyaml's composer (SIGSEGV)
def test_nesting_past_the_bound_is_refused(tmp_path: Path, depth: int):
    message = refused(tmp_path, HEAD + "    aliases: " + "[" * depth + "]" * depth + "\n")
    assert message == f"{tmp_path / 'feeds.yaml'}:7: lists and mappings nested more than 64 deep"
