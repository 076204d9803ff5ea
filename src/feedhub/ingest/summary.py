"""What one ingest pass did, per input (an article folder or a source): the
outcomes counted, the errors and warnings, for the command line, the
scheduler's log and the metrics."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

log = logging.getLogger(__name__)
FAILED = "failed"
RETIRED = "retired"  # a source skipped because it answered 410 Gone


@dataclass
class Summary:
    """What one pass did, per input (an article folder or a source)."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # read, but not all of it

    def count(self, name: str, outcome: str, n: int = 1) -> None:
        self.counts.setdefault(name, Counter())[outcome] += n

    def fail(self, name: str, message: str) -> None:
        self.count(name, FAILED)
        self.errors.append(message)
        log.warning("%s", message)

    def total(self, outcome: str) -> int:
        return sum(c[outcome] for c in self.counts.values())

    def merge(self, other: "Summary") -> None:
        for name, counts in other.counts.items():
            self.counts.setdefault(name, Counter()).update(counts)
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)
