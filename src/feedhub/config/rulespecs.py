"""Keep and block rules as feeds.yaml writes them, and the patterns they mean.

A rule is plain words (matched in title and content, any case, as whole
words) or a regular expression over one field.  Patterns run on RE2
(google-re2), whose matching time is linear in the input: a pattern such as
``(a+)+$`` that makes a backtracking engine take years on a few dozen
characters costs RE2 microseconds.  RE2 has no backreferences or lookaround;
such a pattern is refused when feeds.yaml is loaded, with its file, line and
key.  ingest/rules.py applies the rules to entries.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import re2
from pydantic import Field, field_validator, model_validator

from .values import Strict

RULE_FIELDS = ("title", "content", "author", "tags", "link")


@functools.lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> "re2._Regexp":
    """The RE2 form of `pattern`; ValueError saying why it cannot be one."""
    options = re2.Options()
    options.log_errors = False  # the error is raised to the caller, not printed
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(
            f"invalid regular expression {pattern!r}: {reason} (rules use RE2: no backreferences or lookaround)"
        ) from None


def words_pattern(words: str) -> str:
    """The pattern of a plain-string rule: its words in that order, any case,
    any spacing, not inside longer words ("ad" does not match "advice")."""
    parts = [re.escape(word) for word in words.split()]
    if not parts:
        raise ValueError("expected one or more words")
    start = r"\b" if re.match(r"\w", words.strip()[0]) else ""
    end = r"\b" if re.match(r"\w", words.strip()[-1]) else ""
    return "(?i)" + start + r"\s+".join(parts) + end


class RuleSpec(Strict):
    """One keep/block rule: plain words (matched in title and content, any
    case), or a regular expression (RE2 syntax) over one field."""

    words: str | None = None
    field: str | None = None  # title, content, author, tags or link; both title and content when absent
    regex: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain_string(cls, value: Any) -> Any:
        return {"words": value} if isinstance(value, str) else value

    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str | None) -> str | None:
        if value is not None and value not in RULE_FIELDS:
            raise ValueError(f"expected one of {', '.join(RULE_FIELDS)}, got {value!r}")
        return value

    @field_validator("words")
    @classmethod
    def _some_words(cls, value: str | None) -> str | None:
        if value is not None:
            words_pattern(value)
        return value

    @field_validator("regex")
    @classmethod
    def _linear_time_pattern(cls, value: str | None) -> str | None:
        if value is not None:
            compile_pattern(value)
        return value

    @model_validator(mode="after")
    def _one_form(self) -> "RuleSpec":
        if (self.words is None) == (self.regex is None):
            raise ValueError("expected a plain string of words, or a mapping with 'regex' (and optionally 'field')")
        if self.words is not None and self.field is not None:
            raise ValueError("'field' goes with 'regex'; plain words match title and content")
        return self


class RuleLists(Strict):
    """The keep/block lists that the site, a category and a source each may
    have.  block: entries matching any of these are not published; keep:
    when given, only entries matching one of these are."""

    block: list[RuleSpec] = Field(default_factory=list)
    keep: list[RuleSpec] = Field(default_factory=list)
