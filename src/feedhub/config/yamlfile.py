"""feeds.yaml's text as plain data, and the line of every key in it."""

from __future__ import annotations

from typing import Any

import yaml

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, where PyYAML was built with it

# Where a value sits in feeds.yaml: keys and list indexes from the top, as
# pydantic's error locations and line_numbers both spell it.
KeyPath = tuple[int | str, ...]


def read_yaml(text: str) -> tuple[Any, dict[KeyPath, int]]:
    """The document in `text`, and the 1-based line of each key path in it;
    yaml.YAMLError if it is not YAML."""
    # Parsed once, by libyaml when PyYAML has it (a tenth of the time of the
    # pure-Python parser, which every `feedhub` command pays).
    loader = YAML_LOADER(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return data, line_numbers(node)


def line_numbers(node: yaml.Node | None, prefix: KeyPath = ()) -> dict[KeyPath, int]:
    """Map each key path in the YAML document to its 1-based line number."""
    found: dict[KeyPath, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = prefix + (key.value,)
            found[path] = key.start_mark.line + 1
            found.update(line_numbers(value, path))
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            found[prefix + (index,)] = value.start_mark.line + 1
            found.update(line_numbers(value, prefix + (index,)))
    return found
