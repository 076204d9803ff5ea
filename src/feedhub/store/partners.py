"""Partners' feed requests, per hour: what /partners, /metrics and
`feedhub partners` show (publish/partners.py reads them into a report).

Web processes count the feed requests made with a partner's key in memory
and add them here about once a second (metrics.RequestCounts), as they do
the Prometheus counters: serving a feed never waits on this write.  One row
per partner and hour, so "the last day" is a sum of rows; rows older than
KEEP_DAYS go as new ones come, so a partner's last pull is known that far back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Mapping, get_args

from ..model import PullOutcome
from .connection import Connection
from .rows import PartnerPulls, iso, rows_of

KEEP_DAYS = 31
OUTCOMES: tuple[PullOutcome, ...] = get_args(PullOutcome)
# Sums as BIGINT: PostgreSQL's sum() of integers is a numeric (Python's Decimal).
_SUMMED = ", ".join(
    f"CAST(coalesce(sum(CASE WHEN hour >= ? THEN {column} END), 0) AS BIGINT) AS {column}"
    for column in ("requests", "pulls", "not_modified", "refused", "limited")
)


class Partners(Connection):
    def add_partner_pulls(self, counts: Mapping[tuple[str, PullOutcome], int], now: datetime) -> None:
        """Add (partner, outcome) -> how many, counted up to `now`, to now's hour."""
        hour = now.replace(minute=0, second=0, microsecond=0)
        rows = []
        for partner in sorted({partner for partner, _ in counts}):  # in key order, as add_counts
            n = {outcome: counts.get((partner, outcome), 0) for outcome in OUTCOMES}
            pulls = n["ok"] + n["not_modified"]
            rows.append([partner, iso(hour), sum(n.values()), pulls, n["not_modified"], n["refused"], n["limited"],
                         iso(now) if pulls else None])
        if not rows:
            return
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO partner_pulls (partner, hour, requests, pulls, not_modified, refused, limited, last_pull)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (partner, hour) DO UPDATE SET"
                " requests = partner_pulls.requests + excluded.requests,"
                " pulls = partner_pulls.pulls + excluded.pulls,"
                " not_modified = partner_pulls.not_modified + excluded.not_modified,"
                " refused = partner_pulls.refused + excluded.refused,"
                " limited = partner_pulls.limited + excluded.limited,"
                " last_pull = CASE WHEN excluded.last_pull > coalesce(partner_pulls.last_pull, '')"
                " THEN excluded.last_pull ELSE partner_pulls.last_pull END",
                rows,
            )
            db.execute("DELETE FROM partner_pulls WHERE hour < ?", [iso(hour - timedelta(days=KEEP_DAYS))])

    def partner_pulls(self, since: datetime) -> dict[str, PartnerPulls]:
        """Each partner's requests in the hours from `since`'s hour on, and
        its last pull over every hour kept; partners without a row are absent."""
        hour = iso(since.replace(minute=0, second=0, microsecond=0))
        cursor = self.db.execute(
            f"SELECT partner, {_SUMMED}, max(last_pull) AS last_pull FROM partner_pulls GROUP BY partner", [hour] * 5)
        return {row.partner: row for row in rows_of(PartnerPulls, cursor)}
