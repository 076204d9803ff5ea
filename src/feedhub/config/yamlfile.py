"""feeds.yaml's text as plain data, and the line of every key in it.

YAML lets a file say less than it means: an alias (``*name``) repeats all
that its anchor (``&name``) holds, and a key written twice in one mapping
silently keeps only the last.  Before anything is built, the parser's
events are read once to bound what aliases may add (a dozen lines of
nested aliases, the "billion laughs", would otherwise expand to billions of
values) and how deep the nesting goes; then the composed document is
checked for keys written twice.  Each refusal names its line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, where PyYAML was built with it

# At most this many values (scalars, lists and mappings) added by aliases to
# what the file writes out: far beyond sharing a rule list between sections,
# far below what takes noticeable time to check (bench/yaml_aliases.py).
ALIAS_BUDGET = 10_000
# Lists and mappings nested deeper than this are refused: feeds.yaml needs
# five levels, and the checks after parsing recurse once per level.
MAX_DEPTH = 64

# Where a value sits in feeds.yaml: keys and list indexes from the top, as
# pydantic's error locations and line_numbers both spell it.
KeyPath = tuple[int | str, ...]


class YamlRefused(Exception):
    """YAML that parses but is refused; `line` (1-based) and `path` say where."""

    def __init__(self, line: int, path: KeyPath, message: str):
        super().__init__(message)
        self.line = line
        self.path = path


def read_yaml(text: str) -> tuple[Any, dict[KeyPath, int]]:
    """The document in `text`, and the 1-based line of each key path in it;
    yaml.YAMLError if it is not YAML, YamlRefused if it is refused."""
    bound_aliases(text)
    # Parsed once, by libyaml when PyYAML has it (a tenth of the time of the
    # pure-Python parser, which every `feedhub` command pays).
    loader = YAML_LOADER(text)
    try:
        node = loader.get_single_node()
        refuse_duplicate_keys(node)
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return data, line_numbers(node)


@dataclass
class _Open:
    """A list or mapping whose end event has not come yet."""

    anchor: str | None
    size: int = 1  # values it holds so far, itself and aliases expanded included


def bound_aliases(text: str) -> None:
    """Refuse aliases that would add more than ALIAS_BUDGET values, an alias
    inside the list or mapping it names, and nesting past MAX_DEPTH: from
    the parser's events, before any of it is expanded."""
    sizes: dict[str, int] = {}  # anchor -> how many values it stands for, expanded
    open_: list[_Open] = []
    added = 0
    for event in yaml.parse(text, Loader=YAML_LOADER):
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, yaml.DocumentStartEvent):
            sizes.clear()  # anchors belong to their document
            continue
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            if len(open_) >= MAX_DEPTH:
                raise YamlRefused(line, (), f"lists and mappings nested more than {MAX_DEPTH} deep")
            open_.append(_Open(event.anchor))
            continue
        if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            closed = open_.pop()
            size = closed.size
            if closed.anchor:
                sizes[closed.anchor] = size
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor:
                sizes[event.anchor] = size
        elif isinstance(event, yaml.AliasEvent):
            if any(enclosing.anchor == event.anchor for enclosing in open_):
                raise YamlRefused(line, (), f"the alias *{event.anchor} is inside &{event.anchor}, the list or"
                                            " mapping it repeats: it would never end")
            size = sizes.get(event.anchor or "", 0)  # an unknown anchor: the composer says so
            added += size
            if added > ALIAS_BUDGET:
                raise YamlRefused(line, (), f"the alias *{event.anchor} takes what aliases add to this file past"
                                            f" {ALIAS_BUDGET:,} values (each alias repeats all its anchor holds);"
                                            " write the values out, or use fewer aliases")
        else:
            continue
        if open_:
            open_[-1].size += size


def refuse_duplicate_keys(node: yaml.Node | None, path: KeyPath = (), seen: set[int] | None = None) -> None:
    """YamlRefused at the second of two equal keys in one mapping (YAML
    would keep the last and silently drop the first)."""
    seen = set() if seen is None else seen
    if node is None or id(node) in seen:  # an alias: checked where its anchor is
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, Any], int] = {}
        for key, value in node.value:
            here = key.start_mark.line + 1
            if isinstance(key, yaml.ScalarNode):
                if (key.tag, key.value) in first:
                    raise YamlRefused(here, path + (key.value,),
                                      f"written twice in one mapping (first on line {first[key.tag, key.value]});"
                                      " YAML would keep only this one and drop the other: merge them into one")
                first[key.tag, key.value] = here
            refuse_duplicate_keys(value, path + (key.value,), seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            refuse_duplicate_keys(value, path + (index,), seen)


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
