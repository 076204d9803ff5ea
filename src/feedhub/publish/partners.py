"""What operators see of each partner, on /partners, in /metrics and from
`feedhub partners`: the categories its keys open, and its feed requests over
the last day (the hour under way and the 23 before it, as store/partners.py
keeps them): the last pull, how many requests, the share of answered pulls
that were 304 (the reader sends its validators back), refusals and 429s;
and its keys, each with its expiry.

A "pull" is a request with the partner's key to a feed route (category, tag
and saved-search feeds, OPML) answered 200 or 304; a refusal is one made
with a key of the partner that has expired, or that asked for a category
the partner is not given.  Pure functions; the web and the CLI read the
store and the configuration and hand them here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..config import Config
from ..model import PullOutcome, from_iso
from ..store import PartnerPulls

HOURS = 24  # "the last day": this hour and the 23 before it
ANSWERS: dict[int, PullOutcome] = {200: "ok", 304: "not_modified", 429: "limited"}
SHOWN = len("sha256:") + 8  # of a key's hash, to tell the keys apart


@dataclass(frozen=True)
class KeyState:
    shown: str  # the start of its hash: enough to tell the keys apart, never the key
    expires: datetime | None
    expired: bool


@dataclass(frozen=True)
class PartnerReport:
    name: str
    categories: list[str]
    keys: list[KeyState]
    last_pull: datetime | None  # the newest answered request, as far back as the store keeps them
    requests: int
    not_modified_share: float | None  # of the answered pulls; None when there was none
    refused: int
    limited: int


def since(now: datetime) -> datetime:
    """Where the last day starts: the start of the hour HOURS - 1 before now's."""
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)


def outcome(status: int, expired: bool) -> PullOutcome:
    """What became of a feed request made with a partner's key."""
    if expired or status in (403, 404):
        return "refused"
    return ANSWERS.get(status, "other")


def report(config: Config, pulls: dict[str, PartnerPulls], now: datetime) -> list[PartnerReport]:
    """Every partner in feeds.yaml's order, its keys as they stand at `now`,
    and its requests (`pulls`: store.partner_pulls(since(now)))."""
    reports = []
    for name, partner in config.partners.items():
        counted = pulls.get(name) or PartnerPulls(name, 0, 0, 0, 0, 0, None)
        keys = [KeyState(key.hash[:SHOWN], key.expires, key.expired(now)) for key in partner.keys]
        reports.append(PartnerReport(
            name=name, categories=list(partner.categories), keys=keys, last_pull=from_iso(counted.last_pull),
            requests=counted.requests,
            not_modified_share=counted.not_modified / counted.pulls if counted.pulls else None,
            refused=counted.refused, limited=counted.limited,
        ))
    return reports
