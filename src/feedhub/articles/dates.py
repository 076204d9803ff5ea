"""Dates as newsrooms write them, read as aware UTC.

    2026-12-03T10:30:00Z            ISO 8601 (any offset, or none)
    Wed, 03 Dec 2026 10:30:00 GMT   RFC 822
    3 Dec 2026, 11:15 AM CET        day month year, 12- or 24-hour clock, a zone
    December 3, 2026 10:30 GMT      month day, year
    Dec. 3, 2026 at 9:05 a.m. EST   abbreviations with dots, "at", a.m./p.m.
    Wednesday, 3 December 2026      a weekday, no time (midnight)
    11:15 IST, 3 Dec 2026           the time first
    0001 GMT on Friday 4 Dec 2026   a wire's four-digit time before its zone, "on"

A zone is an abbreviation from ZONES, a numeric offset (+0530, +05:30,
GMT+1, UTC-3) or none: then the folder's own zone (``timezone:`` in
feeds.yaml) is meant.  Abbreviations name a fixed offset, the one the
abbreviation itself says (CEST is +2, CET +1).  IST is India's (+05:30), AST
is left out (Atlantic or Arabia).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime

ZONES: dict[str, float] = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "IST": 5.5,
    "CET": 1, "CEST": 2, "MET": 1, "MEST": 2, "EET": 2, "EEST": 3, "MSK": 3,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "AKST": -9, "AKDT": -8, "HST": -10, "NST": -3.5, "NDT": -2.5, "BRT": -3, "ART": -3,
    "JST": 9, "KST": 9, "HKT": 8, "SGT": 8, "PHT": 8, "ICT": 7, "WIB": 7, "PKT": 5, "NPT": 5.75,
    "AEST": 10, "AEDT": 11, "ACST": 9.5, "ACDT": 10.5, "AWST": 8, "NZST": 12, "NZDT": 13,
    "SAST": 2, "EAT": 3, "WAT": 1, "CAT": 2, "GST": 4,
}
MONTHS = {name: number for number, names in enumerate(
    ["jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july",
     "aug august", "sep sept september", "oct october", "nov november", "dec december"], start=1)
    for name in names.split()}
WEEKDAY = re.compile(r"\b(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(day|nesday|sday|urday|rsday)?\b\.?,?", re.I)
TIME = re.compile(r"\b(\d{1,2})[:.](\d{2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?(?![\w.])|\b(\d{1,2})\s*(a\.?m\.?|p\.?m\.?)(?!\w)", re.I)
OFFSET = re.compile(r"(?:\b(?:UTC|GMT))?\s*([+-])(\d{1,2})(?::?(\d{2}))?\s*$|(?:\b(?:UTC|GMT))([+-])(\d{1,2})(?::?(\d{2}))?\b", re.I)
DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?\s+(\d{4})$", re.I)
MONTH_DAY_YEAR = re.compile(r"^([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?\s+(\d{4})$", re.I)
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
WIRE_TIME = re.compile(r"^([01]\d|2[0-3])[0-5]\d$")
YEAR = re.compile(r"^\d{4}$")


class DateUnreadable(ValueError):
    """Not a date in any format this module reads."""


def parse_date(value: str, default_zone: tzinfo = timezone.utc) -> datetime:
    """One written date or date and time, as aware UTC; DateUnreadable if not."""
    text = " ".join(value.split())
    if ISO_DATE.match(text):
        try:
            return _utc(datetime.fromisoformat(text.replace("Z", "+00:00").replace(" UTC", "+00:00")), default_zone)
        except ValueError:
            pass
    if re.match(r"^[A-Za-z]{3},\s*\d", text):
        try:
            return _utc(parsedate_to_datetime(text), default_zone)
        except (TypeError, ValueError):
            pass
    return _parse_words(text, default_zone)


def _parse_words(text: str, default_zone: tzinfo) -> datetime:
    rest = WEEKDAY.sub(" ", text)
    zone: tzinfo | None = None
    words = rest.split()
    named = [i for i, word in enumerate(words) if word.strip("(),") in ZONES and len(word.strip("(),")) > 1]
    if named:
        at = named[-1]
        zone = _fixed(ZONES[words[at].strip("(),")])
        before = words[at - 1] if at else ""
        if WIRE_TIME.match(before) and sum(bool(YEAR.match(word.strip(","))) for word in words) > 1:
            words[at - 1] = f"{before[:2]}:{before[2:]}"  # "0001 GMT": a time, the year is elsewhere
        rest = " ".join(words[:at] + words[at + 1:])
    elif match := OFFSET.search(rest):
        sign, hours, minutes = _offset_parts(match)
        zone = _fixed((1 if sign == "+" else -1) * (int(hours) + int(minutes or 0) / 60))
        rest = rest[: match.start()] + " " + rest[match.end():]
    hour = minute = second = 0
    if match := TIME.search(rest):
        if match.group(5):
            hour, meridiem = int(match.group(5)), match.group(6)
        else:
            hour, minute, second, meridiem = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0), match.group(4)
        if meridiem:
            if not 1 <= hour <= 12:
                raise DateUnreadable(f"{text!r}: hour {hour} with a.m./p.m.")
            hour = hour % 12 + (12 if meridiem[0].lower() == "p" else 0)
        rest = rest[: match.start()] + " " + rest[match.end():]
    rest = re.sub(r"\b(at|on)\b|[,|]", " ", rest, flags=re.I)
    rest = " ".join(rest.split()).strip(" -–—")
    day = month = year = None
    if match := DAY_MONTH_YEAR.match(rest):
        day, month, year = int(match.group(1)), MONTHS.get(match.group(2).lower()), int(match.group(3))
    elif match := MONTH_DAY_YEAR.match(rest):
        month, day, year = MONTHS.get(match.group(1).lower()), int(match.group(2)), int(match.group(3))
    elif ISO_DATE.match(rest) and len(rest) == 10:
        year, month, day = map(int, rest.split("-"))
    if not (day and month and year):
        raise DateUnreadable(f"{text!r}")
    try:
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise DateUnreadable(f"{text!r}: {exc}") from None
    return _utc(moment.replace(tzinfo=zone) if zone else moment, default_zone)


def _offset_parts(match: re.Match[str]) -> tuple[str, str, str | None]:
    """(sign, hours, minutes or None), from whichever of OFFSET's two forms matched."""
    first = 1 if match.group(1) else 4
    return match.group(first), match.group(first + 1), match.group(first + 2)


def _fixed(hours: float) -> timezone:
    return timezone(timedelta(minutes=round(hours * 60)))


def _utc(moment: datetime, default_zone: tzinfo) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=default_zone)
    return moment.astimezone(timezone.utc)
