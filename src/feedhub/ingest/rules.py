"""Keep and block rules: which entries an operator wants published.

feeds.yaml lists ``block:`` and ``keep:`` rules site-wide, per category and
per source.  ``decide`` is a pure function from an entry (its title, body,
authors, tags and link) and the rules in force to a verdict: served, or
blocked by which rule.  Block rules are tried first, at every level; then
each non-empty keep list (site, category, source) must have a rule that
matches, or the entry is blocked for matching none of it.

Patterns run on RE2, in linear time (config/rulespecs.py: how feeds.yaml
writes a rule, and the pattern it means).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from .. import media
from ..config import Config, RuleLists, RuleSpec
from ..config.rulespecs import compile_pattern, words_pattern

if TYPE_CHECKING:
    from ..model import Item
    from ..store import SubjectRow

BLOCK, KEEP = "block", "keep"


@dataclass(frozen=True)
class Subject:
    """What rules look at in an entry, as plain text."""

    title: str
    content: str  # the body's plain text (and the summary)
    authors: tuple[str, ...]  # author names, and the source's one-line author
    tags: tuple[str, ...]
    link: str

    def values(self, field: str) -> tuple[str, ...]:
        if field == "authors" or field == "author":
            return self.authors
        if field == "tags":
            return self.tags
        return (getattr(self, field),)


def subject_of(title: str, text: str, summary: str, link: str, author: str = "",
               author_names: Iterable[str] = (), tags: Iterable[str] = ()) -> Subject:
    body = text if summary and summary in text else f"{text}\n{summary}".strip()
    names = tuple(name for name in (*author_names, author) if name)
    return Subject(title, body, names, tuple(tags), link or "")


def item_subject(item: "Item") -> Subject:
    """The Subject of an Item (see model.py)."""
    return subject_of(item.title, item.text, item.summary, item.link, item.author,
                      (person.name for person in item.authors), item.tags)


def row_subject(row: SubjectRow) -> Subject:
    """The Subject of a stored item row, as item_subject saw it on arrival."""
    return subject_of(row.title or "", row.text or "", row.summary or "", row.link or "", row.author or "",
                      (person.name for person in media.stored_people(row.authors)), media.stored_tags(row.tags))


@dataclass(frozen=True)
class Rule:
    kind: str  # block or keep
    scope: str  # "site", "category business", "source partner"
    fields: tuple[str, ...]  # what it looks at
    pattern: str  # RE2 syntax
    shown: str  # as the operator wrote it

    def matches(self, subject: Subject) -> bool:
        compiled = compile_pattern(self.pattern)
        return any(compiled.search(value) for field in self.fields for value in subject.values(field))

    def describe(self) -> str:
        return f"{self.kind} {self.shown} ({self.scope})"


@dataclass(frozen=True)
class Verdict:
    blocked: bool
    reason: str = ""  # which rule blocked it, for operators


SERVED = Verdict(False)


def rule_from_spec(kind: str, scope: str, spec: RuleSpec) -> Rule:
    if spec.words is not None:
        return Rule(kind, scope, ("title", "content"), words_pattern(spec.words), json.dumps(spec.words))
    assert spec.regex is not None  # RuleSpec's validator: words or a regex, never neither
    fields = ("title", "content") if spec.field is None else (spec.field,)
    shown = f"{spec.field or 'title/content'} ~ /{spec.regex}/"
    return Rule(kind, scope, fields, spec.regex, shown)


@dataclass(frozen=True)
class RuleSet:
    """The block rules and keep lists that apply to one source's entries."""

    block: tuple[Rule, ...] = ()
    keep: tuple[tuple[str, tuple[Rule, ...]], ...] = ()  # (scope, its keep list), non-empty lists only

    def __bool__(self) -> bool:
        return bool(self.block or self.keep)


# Rule sets per configuration (by identity; a reload makes a new one) and
# per (category, source): built once, not once per entry.
_built: dict[int, tuple[Config, dict[tuple[str, str | None], RuleSet]]] = {}


def rules_for(config: Config, category: str, source_name: str | None) -> RuleSet:
    """The rules for entries of `source_name` (a feeds.yaml source, or None
    for an article folder) filed in `category`: site, category, source."""
    known = _built.get(id(config))
    if known is None or known[0] is not config:
        if len(_built) > 8:
            _built.clear()
        known = _built[id(config)] = (config, {})
    key = (category, source_name)
    if key not in known[1]:
        known[1][key] = _rules_for(config, category, source_name)
    return known[1][key]


def _rules_for(config: Config, category: str, source_name: str | None) -> RuleSet:
    levels: list[tuple[str, RuleLists]] = [("site", config)]
    if category in config.categories:
        levels.append((f"category {category}", config.categories[category]))
    source = config.source(source_name) if source_name else None
    if source is not None:
        levels.append((f"source {source.name}", source))
    block: list[Rule] = []
    keep: list[tuple[str, tuple[Rule, ...]]] = []
    for scope, holder in levels:
        block += [rule_from_spec(BLOCK, scope, spec) for spec in holder.block]
        if holder.keep:
            keep.append((scope, tuple(rule_from_spec(KEEP, scope, spec) for spec in holder.keep)))
    return RuleSet(tuple(block), tuple(keep))


def any_rules(config: Config) -> bool:
    holders = [config, *config.categories.values(), *config.sources]
    return any(holder.block or holder.keep for holder in holders)


def decide(subject: Subject, rules: RuleSet) -> Verdict:
    """Served, or blocked and by what: the first block rule that matches,
    else the first keep list none of whose rules match."""
    if not rules:
        return SERVED
    for rule in rules.block:
        if rule.matches(subject):
            return Verdict(True, rule.describe())
    for scope, keep in rules.keep:
        if not any(rule.matches(subject) for rule in keep):
            return Verdict(True, f"keep ({scope}): matched none of {', '.join(rule.shown for rule in keep)}")
    return SERVED


def fingerprint(config: Config) -> str:
    """A hash of every rule and of which source files into which category:
    when it changes, stored items must be checked again."""
    parts = {
        "site": (_dump(config.block), _dump(config.keep)),
        "categories": {key: (_dump(c.block), _dump(c.keep)) for key, c in config.categories.items()},
        "sources": {s.name: (s.category, _dump(s.block), _dump(s.keep)) for s in config.sources},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _dump(specs: Iterable[RuleSpec]) -> list[dict[str, Any]]:
    return [spec.model_dump() for spec in specs]
