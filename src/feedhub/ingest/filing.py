"""Filing an item: keep/block rules, then deduplication, then the store.

``add`` is the filing step: in one store transaction, with the item's
category locked, it reads what the store holds (the entry stored before, a
copy recorded before, a tombstone, the owners of the item's exact keys, its
near-duplicate candidates), asks dedup.decide, and has the store apply the
decision.  The store only reads and writes; what makes an item a copy, and
which copy is kept, is decided here and in dedup/decide.py.

``file_item`` checks the keep/block rules first, so a blocked entry never
stands in for another source's copy of a story; ``recheck`` checks the stored
items again when the rules change.

``file_batch`` files many items as file_item would, one after the other, but
reads for all of them at once and writes them together: on PostgreSQL a
batch costs a few round trips instead of a dozen per item.  Article folders
and feeds file their items this way.

Versions of a story from one input (a wire's UPDATE 1 and UPDATE 2, an
edited file) are shown in the stored story's place, the newest by its time
(issue 26): a version read again is compared with the one shown.  One under
an embargo of its own, of a story that is out, waits in its duplicate record
for the worker's release job (worker/lifecycle.py).  An input's
own kill order (Item.takedown) withdraws the story it was filed as.  What a
batch cannot settle from its reads alone (a version to show, an embargo, a
kill) is filed by file_item, alone.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Mapping, Optional, Sequence, Tuple

from .. import metrics
from ..config import Config
from ..dedup import decide as dedup  # the decision: dedup.decide, its actions and thresholds
from ..dedup.candidates import MAX_CANDIDATES, Candidates, KeyOwner, Match, NearCandidate, Standing
from ..dedup.fingerprint import Fingerprint, Prepared, prepare
from ..model import DUPLICATE, NEW, UNCHANGED, Item, Outcome, from_iso
from ..store import Closer, Found, Store, Triple, entry_key, unchanged
from . import rules

log = logging.getLogger(__name__)
RULES_SETTING = "rules_fingerprint"
# Items read at once by file_batch: bounds its statements' lists of values
# (SQLite takes up to 32,766 a statement; an item brings about 25).
RUN = 500
# An item to file: the item, its feeds.yaml source's name (None for articles),
# and prepare(item) when it was worked out already (None: here).
Filing = Tuple[Item, Optional[str], Optional[Prepared]]


def file_item(config: Config, store: Store, item: Item, source: str | None, prepared: Prepared | None = None) -> Outcome:
    """Store an item, unless the keep/block rules for its source (a feeds.yaml
    source name, None for articles) hold it back: checked before dedup, so a
    blocked entry never stands in for another source's copy of the story."""
    verdict = _verdict(config, item, source)
    if verdict.blocked:
        log.info("entry blocked", extra={"input": item.source, "title": item.title, "rule": verdict.reason})
        return store.block(item, verdict.reason)
    return add(store, item, thresholds_for(config, item.category), prepared)


def file_batch(config: Config, store: Store, batch: Sequence[Filing]) -> list[Outcome]:
    """File many items as file_item would, one after the other, in a few
    round trips: what is stored under all of them is read at once
    (store.gather), each is decided in order against that and against the
    items before it in the batch (copies inside one batch are caught), and
    the new stories and copies are written together.  An item that needs
    more (held back by a rule, changed or blocked since it was filed, the
    better copy of a story filed before) is filed by file_item, alone, once
    what comes before it is written; what follows is read again."""
    outcomes: list[Outcome] = []
    with store.transaction():
        store.lock_categories(item.category for item, _, _ in batch)
        while len(outcomes) < len(batch):
            outcomes += _file_run(config, store, batch[len(outcomes):len(outcomes) + RUN])
    return outcomes


def _file_run(config: Config, store: Store, run: Sequence[Filing]) -> list[Outcome]:
    """File the run's items up to the first that must be filed alone, and
    that one; returns their outcomes."""
    ready = [(item, prepared or prepare(item)) for item, _, prepared in run]
    held = [_verdict(config, item, source).blocked for item, source, _ in run]  # file_item stores them blocked
    found = store.gather(ready)
    stored_hits = [_hits(found.bands, prepared) if not _owners(found.owners, item, prepared) else Counter[str]()
                   for item, prepared in ready]
    closer = store.look_closer([item for (item, _), blocked in zip(ready, held)
                                if item.id not in found.entries and not blocked],
                               [item_id for hits in stored_hits for item_id, _ in _best(hits)])
    filed = _Run(found, closer)
    outcomes: list[Outcome] = []
    for (item, source, _), (_, prepared), hits, blocked in zip(run, ready, stored_hits, held):
        outcome = None if blocked else filed.decide(config, item, prepared, hits)
        if outcome is None:  # not for a batch: alone, after the items before it
            filed.write(store)
            return [*outcomes, file_item(config, store, item, source, prepared)]
        outcomes.append(outcome)
    filed.write(store)
    return outcomes


class _Run:
    """A run's decisions so far: what it files, and what later items of the
    run must find of it (its new stories' keys, bands and texts, its copies)."""

    def __init__(self, found: Found, closer: Closer):
        self.found, self.closer = found, closer
        self.nums = iter(found.nums)
        self.new: list[tuple[Item, Prepared, int | None]] = []
        self.copies: list[tuple[Item, Match]] = []
        self.ids: set[str] = set()
        self.owners: dict[Triple, KeyOwner] = {}
        self.bands: dict[int, list[str]] = {}
        self.texts: dict[str, tuple[str, str, int | None, Standing]] = {}

    def decide(self, config: Config, item: Item, prepared: Prepared, stored_hits: Counter[str]) -> Outcome | None:
        """The item's outcome, as add() would file it after the run's items
        before it; None when it must be filed alone."""
        if item.id in self.ids or item.embargo or item.takedown:
            return None  # the same entry twice in the batch; a story held, or killed
        stored = self.found.entries.get(item.id)
        if stored is not None:
            return Outcome(UNCHANGED, item.id) if stored.blocked is None and unchanged(item, stored) else None
        copy = (item.category, item.source, item.guid)
        kept = self.closer.copies.get(copy)
        if kept is not None:  # a version of a story from the same input may be shown now: alone
            return None if self.closer.kept_sources.get(copy) == item.source else Outcome(UNCHANGED, kept)
        if any((item.category, kind, value) in self.found.buried for kind, value in [entry_key(item), *prepared.keys]):
            return Outcome(UNCHANGED, None)  # pruned before: not published again
        # Stored items and the run's own own different keys (a new story owned none of its keys).
        owners = {**_owners(self.owners, item, prepared), **_owners(self.found.owners, item, prepared)}
        near = [] if owners or prepared.fingerprint is None else self._near(prepared, stored_hits)
        decision = dedup.decide(Candidates(owners, near), item, thresholds_for(config, item.category),
                                prepared.fingerprint)
        self.ids.add(item.id)
        if decision.action == dedup.DUPLICATE:
            assert decision.match is not None
            self.copies.append((item, decision.match))
            return Outcome(DUPLICATE, decision.match.item_id, decision.match.reason)
        if decision.action in (dedup.REPLACE, dedup.UPDATE, dedup.HOLD):
            return None
        self._add(item, prepared)
        return Outcome(NEW, item.id)

    def _near(self, prepared: Prepared, stored_hits: Counter[str]) -> list[NearCandidate]:
        """The run's new stories and the stored items sharing most bands with
        the item, best first, with their texts, as Store.near_candidates gives them."""
        assert prepared.fingerprint is not None
        hits = stored_hits + _hits(self.bands, prepared)
        return [NearCandidate(item_id, title, text, count, priority, standing) for item_id, count in _best(hits)
                for title, text, priority, standing in [self.texts.get(item_id) or self.closer.texts[item_id]]]

    def _add(self, item: Item, prepared: Prepared) -> None:
        num = next(self.nums) if prepared.fingerprint else None
        self.new.append((item, prepared, num))
        filed = Standing(item.source, item.version_time, title=item.title)  # served: held items are filed alone
        for kind, value in prepared.keys:
            self.owners.setdefault((item.category, kind, value), KeyOwner(item.id, item.priority, filed))
        for band in prepared.fingerprint.bands if prepared.fingerprint else ():
            self.bands.setdefault(band, []).append(item.id)
        self.texts[item.id] = (item.title, item.text, item.priority, filed)

    def write(self, store: Store) -> None:
        store.file_many(self.new, self.copies)
        self.new, self.copies = [], []


def _verdict(config: Config, item: Item, source: str | None) -> rules.Verdict:
    """What the keep/block rules for the item's source say of it."""
    rule_set = rules.rules_for(config, item.category, source)
    return rules.decide(rules.item_subject(item), rule_set) if rule_set else rules.SERVED


def _owners(owners: Mapping[Triple, KeyOwner], item: Item, prepared: Prepared) -> dict[str, KeyOwner]:
    """The owners of the item's exact keys, by kind."""
    return {kind: owners[(item.category, kind, value)] for kind, value in prepared.keys
            if (item.category, kind, value) in owners}


def _hits(bands: Mapping[int, list[str]], prepared: Prepared) -> Counter[str]:
    """Bands each item filed under them shares with the prepared item."""
    if prepared.fingerprint is None:
        return Counter()
    return Counter(item_id for band in prepared.fingerprint.bands for item_id in bands.get(band, ()))


def _best(hits: Counter[str]) -> list[tuple[str, int]]:
    """The MAX_CANDIDATES items with the most bands shared, ties by id."""
    return sorted(hits.items(), key=lambda hit: (-hit[1], hit[0]))[:MAX_CANDIDATES]


def thresholds_for(config: Config, category: str) -> dedup.Thresholds:
    """The category's dedup thresholds (the defaults for a category feeds.yaml no longer has)."""
    known = config.categories.get(category)
    return dedup.Thresholds(known.near_duplicate_threshold) if known else dedup.Thresholds()


def add(store: Store, item: Item, thresholds: dedup.Thresholds = dedup.Thresholds(),
        prepared: Prepared | None = None) -> Outcome:
    """File an item in its category: new, an update of itself, or a duplicate.

    The stored items under its exact keys and near-duplicate bands are read,
    dedup.decide says whether it is a copy and which copy is kept (`thresholds`:
    how similar a near copy must be), and the decision is filed, all in this
    one transaction.  `prepared` is prepare(item) when the caller has worked
    it out already."""
    with store.transaction():
        store.lock_categories([item.category])
        outcome = _file(store, item, thresholds, prepared)
        if item.takedown and outcome.item_id:
            store.withdraw(outcome.item_id, item.takedown.who, item.takedown.reason)
        return outcome


def _file(store: Store, item: Item, thresholds: dedup.Thresholds, prepared: Prepared | None) -> Outcome:
    stored = store.stored_entry(item.id)
    if stored and stored.blocked is not None:  # blocked before, passing the rules now
        unblock(store, item.id, thresholds)
        stored = store.stored_entry(item.id)
    if stored:
        if stored.shown_version is None or item.version_time > from_iso(stored.version):
            return store.refresh(item, stored)
        return Outcome(UNCHANGED, item.id)  # a newer version of it is shown
    kept = store.known_copy(item)
    if kept is not None:
        return _known_version(store, item, kept)
    item_keys, fingerprinted = prepared or prepare(item)
    if store.buried(item, item_keys):
        return Outcome(UNCHANGED, None)  # pruned before: not published again
    candidates = _candidates(store, item, item_keys, fingerprinted)
    decision = dedup.decide(candidates, item, thresholds, fingerprinted)
    return _apply(store, decision, item, item_keys, fingerprinted)


def _known_version(store: Store, item: Item, kept_id: str) -> Outcome:
    """A copy recorded before, read again.  From the kept story's own input
    it is one of its versions: shown again if it is the one shown (a rerender
    reaches it), or if it is now newer than the one shown; at its embargo if
    it has one and the story is out (its record keeps it until then, in
    place of what it kept: nothing else waits for this version).  Else, as
    from any other input, nothing changes."""
    kept = store.stored_entry(kept_id)
    if kept is None or kept.source != item.source:
        return Outcome(UNCHANGED, kept_id)
    shown = kept.shown_version == item.guid or item.version_time > from_iso(kept.version)
    held = shown and item.embargo is not None and kept.embargo is None
    store.hold_version(item, held)
    return store.show_version(kept_id, item, kept) if shown and not held else Outcome(UNCHANGED, kept_id)


def _candidates(
    store: Store, item: Item, item_keys: list[tuple[str, str]], fingerprinted: Fingerprint | None
) -> Candidates:
    """What is filed under the item's exact keys, and under its LSH bands.
    The bands are looked up only when no exact key is filed: an exact key
    always wins (dedup.decide), so near candidates could not change the
    decision, and most copies are exact ones."""
    owners = store.key_owners(item.category, item_keys)
    near = [] if owners or fingerprinted is None else store.near_candidates(fingerprinted)
    return Candidates(owners, near)


def _apply(
    store: Store, decision: dedup.Decision, item: Item, item_keys: list[tuple[str, str]],
    fingerprinted: Fingerprint | None,
) -> Outcome:
    """File the item as dedup.decide said: new, a copy, or the copy kept."""
    match = decision.match
    if decision.action == dedup.DUPLICATE:
        assert match is not None
        store.record_copy(item, match)
        return Outcome(DUPLICATE, match.item_id, match.reason)
    if decision.action == dedup.HOLD:  # shown at its embargo (worker/lifecycle.py); the story keeps its text
        assert match is not None
        store.record_version(item, match, held=True)
        return Outcome(DUPLICATE, match.item_id, match.reason)
    if decision.action == dedup.UPDATE:
        assert match is not None
        kept = store.stored_entry(match.item_id)
        assert kept is not None  # decide() matched a stored story, and the category is locked
        shown = store.show_version(match.item_id, item, kept)
        if shown.status == UNCHANGED:  # the text shown already (a file sent again): just a copy
            store.record_copy(item, match)
            return Outcome(DUPLICATE, match.item_id, match.reason)
        store.record_version(item, match)
        return shown
    store.file_new(item, item_keys, fingerprinted)
    if decision.action == dedup.REPLACE:
        assert match is not None
        store.replace_kept(match.item_id, item, match)
    return Outcome(NEW, item.id, replaced=match.item_id if match else None)


def unblock(store: Store, item_id: str, thresholds: dedup.Thresholds) -> None:
    """Serve a blocked item again (the rule that blocked it is gone), in the
    caller's transaction.  One blocked as it arrived was never compared with
    other stories: it goes through deduplication now, as a new entry would."""
    again = store.unblock(item_id)
    if again is not None:
        add(store, again, thresholds)


def recheck_if_rules_changed(config: Config, store: Store) -> tuple[int, int] | None:
    """recheck(), when the rules changed since stored items were last checked."""
    if store.setting(RULES_SETTING) == rules.fingerprint(config):
        return None
    return recheck(config, store)


def recheck(config: Config, store: Store) -> tuple[int, int]:
    """Check every stored item against the rules in force: newly blocked
    ones are marked (and leave the feeds), no longer blocked ones come back.
    Returns (blocked, unblocked)."""
    sources = {f"feed:{s.name}": s.name for s in config.sources}
    sets: dict[tuple[str, str], rules.RuleSet] = {}
    blocked = unblocked = 0
    with store.transaction():
        for row in list(store.rule_subjects(blocked_only=not rules.any_rules(config))):
            key = (row.category, row.source)
            if key not in sets:
                sets[key] = rules.rules_for(config, row.category, sources.get(row.source))
            verdict = rules.decide(rules.row_subject(row), sets[key])
            if verdict.blocked and row.blocked is None:
                store.mark_blocked(row.id, verdict.reason)
                blocked += 1
            elif verdict.blocked and row.blocked != verdict.reason:
                store.mark_blocked(row.id, verdict.reason)  # still blocked, now by another rule
            elif not verdict.blocked and row.blocked is not None:
                with store.transaction():  # a savepoint: the item taken out and filed again, or neither
                    unblock(store, row.id, thresholds_for(config, row.category))
                unblocked += 1
        store.set_setting(RULES_SETTING, rules.fingerprint(config))
    if blocked or unblocked:
        log.info("rules changed: stored items checked again", extra={"blocked": blocked, "unblocked": unblocked})
        store.add_counts(metrics.recheck_counts(blocked))
    return blocked, unblocked
