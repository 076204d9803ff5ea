"""feeds.yaml: the bundled one loads; broken ones say exactly what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import REPO, write_config

from feedhub.cli import main
from feedhub.config import ConfigError, load_config


def test_bundled_feeds_yaml_is_valid_and_points_at_bundled_inputs():
    config = load_config(REPO / "feeds.yaml")
    assert "international" in config.categories
    assert all(folder.path.is_dir() for folder in config.articles)
    assert all(source.path.is_file() for source in config.sources if source.path)
    assert config.category_for_section("INTERNATIONAL") == "international"


def test_sections_map_case_insensitively_and_through_aliases(make_config):
    config = make_config()
    assert config.category_for_section("International") == "international"
    assert config.category_for_section("world") == "international"
    assert config.category_for_section("WEATHER") is None


BROKEN = [
    # (replacement text, expected line, expected key path, expected words)
    ("  titel: Oops\n", 3, "site.titel", "unknown key"),
    ("", 2, "site.title", "required key is missing"),
]


def broken(tmp_path: Path, text: str) -> str:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value)


GOOD_HEAD = "site:\n  title: Hub\n  link: http://hub.test\ncategories:\n  world:\n    title: World\n"


def test_unknown_key_names_file_line_and_path(tmp_path: Path):
    message = broken(tmp_path, GOOD_HEAD + "sources:\n  - name: wire\n    url: http://wire.test/rss\n    category: world\n    intervall: 15m\n")
    assert message == f"{tmp_path / 'feeds.yaml'}:11: sources[0].intervall: unknown key (check its spelling)"


def test_missing_field_is_named(tmp_path: Path):
    message = broken(tmp_path, "site:\n  link: http://hub.test\ncategories:\n  world:\n    title: World\n")
    assert f"{tmp_path / 'feeds.yaml'}:1: site.title: required key is missing" == message


def test_bad_url_is_explained(tmp_path: Path):
    message = broken(tmp_path, GOOD_HEAD + "sources:\n  - name: wire\n    url: ftp://wire.test/rss\n    category: world\n")
    assert ":9: sources[0].url: expected an absolute http(s) URL, got 'ftp://wire.test/rss'" in message


def test_bad_interval_is_explained(tmp_path: Path):
    message = broken(tmp_path, GOOD_HEAD + "sources:\n  - name: wire\n    url: http://wire.test/rss\n    category: world\n    interval: soon\n")
    assert ":11: sources[0].interval: expected a duration like '30s', '15m' or '1h', got 'soon'" in message


def test_source_in_unknown_category_is_refused(tmp_path: Path):
    message = broken(tmp_path, GOOD_HEAD + "sources:\n  - name: wire\n    url: http://wire.test/rss\n    category: sport\n")
    assert "category 'sport' is not one of ['world']" in message


def test_not_yaml_at_all(tmp_path: Path):
    assert "not valid YAML" in broken(tmp_path, "site: [unclosed\n")


def test_service_does_not_start_on_a_broken_file(tmp_path: Path, capsys):
    (tmp_path / "feeds.yaml").write_text(GOOD_HEAD + "feed_size: many\n")
    assert main(["--config", str(tmp_path / "feeds.yaml"), "run"]) == 2
    error = capsys.readouterr().err
    assert "feed_size" in error and ":7:" in error


def test_check_config_accepts_the_bundled_file(capsys):
    assert main(["--config", str(REPO / "feeds.yaml"), "check-config"]) == 0
    assert "ok" in capsys.readouterr().out


def test_relative_paths_are_taken_from_the_config_folder(tmp_path: Path):
    config = load_config(write_config(tmp_path, "hub.db", articles=[{"path": "news"}]))  # never opened

    assert config.database == tmp_path / "hub.db"
    assert config.articles[0].path == tmp_path / "news"
