"""Which lines of an article file are site furniture, not the story.

Three layers, asked in this order:

1. the operator's ``keep:`` list in feeds.yaml: a line it matches is never
   dropped by the rules below;
2. the operator's ``boilerplate:`` list, then the curated FAMILIES every
   newsroom CMS leaves behind (share prompts, "Also Read:" links, app and
   newsletter prompts, donation appeals, copyright lines, ...);
3. the folder's learned house style: a line that recurs verbatim (after
   folding case and whitespace) in a large share of the folder's files
   (see ``learned``; the counts are kept in the store).

A folder's ``HouseStyle`` holds all three; ``HouseStyle.reason(line)`` says
why a line is dropped, or None.  Everything here is pure: the counts come
from the store, the decision is made here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..store.rows import HouseLine  # a line counted in a folder, as the store keeps it

_NETWORKS = (
    r"facebook|twitter|x|instagram|linkedin|whatsapp|telegram|signal|youtube|tiktok|threads|"
    r"mastodon|bluesky|reddit|pinterest|snapchat|viber|wechat|line|koo|flipboard|google\s+news|"
    r"email|e-mail|messenger|discord"
)
# A network, and the name it had before if the line gives it: "X (formerly Twitter)".
_NETWORK = rf"({_NETWORKS})(\s*\(\s*(formerly|previously|ex|once)(\s+known\s+as)?\s+({_NETWORKS})\s*\))?"
# Each family: a name an operator reads in `feedhub dropped`, and whole-line
# patterns (matched case-insensitively).
FAMILIES: dict[str, list[str]] = {
    "share/follow prompt": [
        rf"(share|post|tweet|send)(\s+(this|the))?(\s+(article|story|post|page))?(\s+(on|via|to|with)\s+{_NETWORK})?\s*:?",
        rf"share\s+on\s+{_NETWORK}(\s*(,|/|\||and|or)\s*{_NETWORK})*",
        rf"{_NETWORK}\s+(group|channel|community)\s+join\s+now",
        r"(click\s+here\s+to\s+)?(join|follow|like)\s+(us|our)\b.{0,60}",
        rf"(click\s+here\s+to\s+)?(join|follow|subscribe\s+to)\s+(the|our)\s+.{{0,40}}\b({_NETWORKS}|channel|group|community)\b.{{0,30}}",
        r"(follow|find)\s+us\s+on\s+.{0,60}",
        rf"{_NETWORK}(\s*(,|/|\||·)\s*{_NETWORK})+",
        r"tweet|print|print\s+this\s+(article|page)|copy\s+link|link\s+copied|comments?(\s*\(\d+\))?",
    ],
    "related link": [
        r"(also\s+read|read\s+also|read\s+more|related|recommended|must\s+read|don'?t\s+miss|see\s+also|"
        r"more\s+on\s+this\s+story|also\s+see|you\s+may\s+also\s+like|trending|top\s+stories)\s*[:|\-–—].{0,200}",
        r"(related|recommended|more|latest|trending|top|popular)\s+(stories|articles|news|reads|videos)"
        r"(\s+(from|on|in)\s+.{0,40})?",
        r"you\s+(may|might)\s+also\s+(like|be\s+interested\s+in)|read\s+more|continue\s+reading|click\s+here\s+to\s+read\s+more.{0,40}",
        r"more\s+(from|in|on)\s+(this|the|our)\s+(section|category|topic|series|author|writer|columnist|desk|site|page)",
    ],
    "app prompt": [
        r"(download|get|install)\s+(the|our)\s+.{0,60}\bapps?\b.{0,80}",
        r"(available|download\s+it)\s+on\s+(the\s+)?(app\s+store|google\s+play).{0,60}",
    ],
    "newsletter prompt": [
        r"(sign\s+up|subscribe|register)\s+(for|to)\s+.{0,60}\b(newsletters?|briefings?|daily\s+email|bulletins?|alerts)\b.{0,80}",
        r"get\s+(our|the)\s+.{0,40}\b(newsletter|briefing|email)\b.{0,60}",
        r"(newsletter|sign\s+up|subscribe)(\s+now)?\s*[:!]?",
    ],
    "donation appeal": [
        r"(please\s+)?(support|fund|back)\s+(independent|quality|local|our)\s+(journalism|reporting|newsroom).{0,80}",
        r"(donate|contribute)(\s+(now|today|here))?\s*[.!]?",
        r"become\s+a\s+(member|supporter|subscriber|patron)\b.{0,60}",
        r"(make\s+a\s+(contribution|donation)|support\s+us).{0,80}",
    ],
    "copyright line": [
        r"(©|\(c\))\s*.{0,80}|copyright\s*(©|\(c\))?\s*\d{4}.{0,80}",
        r"all\s+rights\s+reserved\.?",
    ],
    "advertisement": [
        r"(advertisement|advertising|sponsored(\s+content)?|ad|promoted|story\s+continues\s+(below|after)\s+(the\s+)?(advertisement|ad))",
        r"-+\s*advertisement\s*-+",
    ],
    "agency credit": [
        r"\(\s*with\s+inputs?\s+from\s+[^()]{1,60}\)\.?",
        r"[-–—]*\s*with\s+inputs?\s+from\s+(agencies|pti|ani|ians|reuters|ap|afp|bloomberg|wire\s+services?)"
        r"(\s*(,|and|&)\s*(agencies|pti|ani|ians|reuters|ap|afp|bloomberg))*\.?",
        r"\(?\s*(this|the)\s+(story|article)\s+(has\s+not\s+been\s+edited|is\s+auto-generated).{0,160}\)?",
    ],
    "navigation": [
        r"back\s+to\s+top(\s+button)?|skip\s+to\s+(main\s+)?content|go\s+to\s+homepage|scroll\s+to\s+continue",
    ],
}


def fold(line: str) -> str:
    """A line as compared for house style: case and spacing folded."""
    return " ".join(line.casefold().split())


def line_key(line: str) -> str:
    """A short stable hash of a folded line (what the store counts)."""
    return hashlib.blake2b(fold(line).encode(), digest_size=8).hexdigest()


def _compile(patterns: list[str]) -> re.Pattern[str]:
    """One case-blind pattern matching any of `patterns`."""
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


CURATED = {family: _compile(patterns) for family, patterns in FAMILIES.items()}
# The longest line a curated family can match ("Also Read:" and a headline):
# longer lines are paragraphs, and are not asked.
MAX_CURATED_LINE = 300
# Every family at once: most lines match none, and one pattern says so sooner.
ANY_CURATED = _compile([p for patterns in FAMILIES.values() for p in patterns])

# House-style learning.  A folded line is the folder's boilerplate once it is
# in at least MIN_FILES files and in at least MIN_SHARE of the files read
# since it first appeared (so a line a house adds today is learned after
# MIN_FILES files, however large the archive).  Why these numbers: see the
# sweep `python bench/articles.py` prints.  On the corpus, house lines are in
# 60-100% of their folder's files, while the most repeated real body lines
# (sub-headings such as "Key points", a series' standard lead-in) are in at
# most 30%: 0.5 sits between.  MIN_FILES = 3 keeps a line two stories share
# (a quote, a sub-heading) and is the first count where a share means much.
MIN_FILES = 3
MIN_SHARE = 0.5
# A line once learned stays learned until its share falls below this: a line
# hovering about MIN_SHARE would otherwise flip the folder's rules, and have
# every file read again, pass after pass.
KEEP_SHARE = 0.3
# Lines longer than this are never counted: a house line is a short prompt,
# a sentence of body text is not boilerplate however often it repeats.
MAX_HOUSE_LINE = 160


def countable(line: str) -> bool:
    return 0 < len(line) <= MAX_HOUSE_LINE


def learned(lines: dict[str, HouseLine], total: int, min_files: int = MIN_FILES, min_share: float = MIN_SHARE) -> dict[str, str]:
    """{key: text} of the house lines among a folder's counted lines."""
    def share(line: HouseLine) -> float:
        return line.files / max(total - line.since, 1)

    return {
        key: line.text for key, line in lines.items()
        if line.files >= min_files and share(line) >= (min(KEEP_SHARE, min_share) if line.learned else min_share)
    }


@dataclass
class HouseStyle:
    """A folder's house style: everything that decides which lines of its
    files are dropped (feeds.yaml's lists, the curated families, the lines
    learned from its files)."""

    extra: list[str] = field(default_factory=list)  # feeds.yaml boilerplate:
    keep: list[str] = field(default_factory=list)  # feeds.yaml keep:
    house: dict[str, str] = field(default_factory=dict)  # learned {key: text}

    def __post_init__(self) -> None:
        # None when feeds.yaml lists none: an empty pattern would match empty lines.
        self._extra = _compile(self.extra) if self.extra else None
        self._keep = _compile(self.keep) if self.keep else None

    def reason(self, line: str) -> str | None:
        """Why the line is boilerplate ("curated: advertisement", "house
        style", "feeds.yaml"), or None for a line to keep."""
        if self._keep and self._keep.fullmatch(line):
            return None
        if self._extra and self._extra.fullmatch(line):
            return "feeds.yaml boilerplate"
        if len(line) <= MAX_CURATED_LINE and ANY_CURATED.fullmatch(line):
            return next(f"curated: {family}" for family, pattern in CURATED.items() if pattern.fullmatch(line))
        if self.house and countable(line) and line_key(line) in self.house:
            return "house style"
        return None

    def kept(self, line: str) -> bool:
        """The operator allow-listed this line."""
        return bool(self._keep and self._keep.fullmatch(line))

    def version(self) -> str:
        """Changes whenever a rule does: stored articles read under another
        version are read again (see ingest/folders.py)."""
        parts = [*FAMILIES.items(), self.extra, self.keep, sorted(self.house)]
        return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()
