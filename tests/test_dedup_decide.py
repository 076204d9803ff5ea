"""dedup.decide.decide on its own: candidates in, a decision out, no database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from feedhub.dedup.candidates import Candidates, KeyOwner, NearCandidate, Standing
from feedhub.dedup.decide import (
    DUPLICATE, EXACT_REASONS, HOLD, NEW, REPLACE, UPDATE, Decision, Thresholds, decide, shows_version,
)
from feedhub.dedup.fingerprint import fingerprint
from feedhub.model import Item

STORY = ("The harbour authority closed the northern pier on Tuesday after divers found cracks in three of its"
         " supporting pillars, and ferries will dock at the southern terminal until repairs are finished in spring")
REWRITE = ("Divers found cracks in three of its supporting pillars, so the harbour authority closed the northern"
           " pier on Tuesday; ferries will dock at the southern terminal until repairs are finished in spring")
OTHER = ("The city council approved a new budget for the public library network, adding two mobile libraries"
         " and longer opening hours at the central branch from the first of March onwards next year")


def item(text: str = STORY, priority: int = 100, title: str = "Northern pier closed") -> Item:
    return Item(category="news", source="feed:b", guid="b-1", title=title, link="http://b.test/1", summary="",
                content="", text=text, published=datetime(2026, 11, 25, tzinfo=timezone.utc), priority=priority)


def near(item_id: str, text: str, hits: int = 5, priority: int | None = 100, title: str = "Northern pier closed",
         standing: Standing = Standing()) -> NearCandidate:
    return NearCandidate(item_id, title, text, hits, priority, standing)


def test_no_candidates_is_new() -> None:
    assert decide(Candidates({}, []), item(), Thresholds()) == Decision(NEW)


def test_exact_keys_in_order_guid_then_url_then_text() -> None:
    owners = {"text": KeyOwner("by-text", 100), "url": KeyOwner("by-url", 100), "guid": KeyOwner("by-guid", 100)}
    decision = decide(Candidates(owners, []), item(), Thresholds())
    assert decision.action == DUPLICATE
    assert (decision.match.item_id, decision.match.reason, decision.match.score) == ("by-guid", "guid", 1.0)
    assert decision.match.detail == EXACT_REASONS["guid"]
    del owners["guid"]
    assert decide(Candidates(owners, []), item(), Thresholds()).match.item_id == "by-url"
    del owners["url"]
    assert decide(Candidates(owners, []), item(), Thresholds()).match.reason == "text"


def test_an_exact_key_wins_over_a_closer_near_candidate() -> None:
    candidates = Candidates({"url": KeyOwner("by-url", 100)}, [near("same-text", STORY)])
    assert decide(candidates, item(), Thresholds()).match.item_id == "by-url"


def test_near_candidate_at_or_above_the_threshold_is_a_copy() -> None:
    candidates = Candidates({}, [near("rewrite", REWRITE, hits=7)])
    decision = decide(candidates, item(), Thresholds(near_threshold=0.3))
    assert decision.action == DUPLICATE and decision.match.reason == "near"
    assert 0.3 <= decision.match.score < 1.0
    assert decision.match.detail.endswith("; 7 LSH bands shared")
    # The same pair, with the bar set above its score: a story of its own.
    above = decision.match.score + 0.01
    assert decide(candidates, item(), Thresholds(near_threshold=above)).action == NEW


def test_unrelated_candidates_are_not_copies() -> None:
    assert decide(Candidates({}, [near("other", OTHER)]), item(), Thresholds()).action == NEW


def test_the_best_scoring_near_candidate_wins() -> None:
    candidates = Candidates({}, [near("rewrite", REWRITE, hits=9), near("other", OTHER), near("same", STORY, hits=2)])
    decision = decide(candidates, item(), Thresholds(near_threshold=0.3))
    assert (decision.match.item_id, decision.match.score) == ("same", 1.0)


def test_equal_scores_keep_the_first_candidate() -> None:
    candidates = Candidates({}, [near("first", STORY), near("second", STORY)])
    assert decide(candidates, item(), Thresholds()).match.item_id == "first"


def test_given_fingerprint_is_used() -> None:
    # A fingerprint of other words: the candidate is scored against it, not
    # against the item's own text.
    other = fingerprint(item(OTHER))
    candidates = Candidates({}, [near("same", STORY)])
    assert decide(candidates, item(), Thresholds(), other).action == NEW
    assert decide(candidates, item(), Thresholds()).action == DUPLICATE


def test_too_short_to_compare_is_new() -> None:
    short = item("Read more", title="Pier")
    assert fingerprint(short) is None
    assert decide(Candidates({}, [near("same", "Read more", title="Pier")]), short, Thresholds()).action == NEW


def test_a_later_copy_wins_only_from_a_strictly_better_priority() -> None:
    for owner_priority, arriving, action in [(100, 10, REPLACE), (10, 10, DUPLICATE), (10, 100, DUPLICATE),
                                             (None, 1, DUPLICATE)]:
        exact = Candidates({"url": KeyOwner("stored", owner_priority)}, [])
        assert decide(exact, item(priority=arriving), Thresholds()).action == action, (owner_priority, arriving)
        close = Candidates({}, [near("stored", STORY, priority=owner_priority)])
        assert decide(close, item(priority=arriving), Thresholds()).action == action, (owner_priority, arriving)


def test_replacement_names_the_stored_copy() -> None:
    decision = decide(Candidates({}, [near("stored", REWRITE, priority=50)]), item(priority=1), Thresholds(0.3))
    assert decision.action == REPLACE
    assert decision.match.item_id == "stored" and decision.match.reason == "near"


# -- a story's life (issue 26) -------------------------------------------------------

T0 = datetime(2026, 11, 25, tzinfo=timezone.utc)


def owner(standing: Standing, priority: int | None = 100) -> Candidates:
    return Candidates({"url": KeyOwner("stored", priority, standing)}, [])


def test_a_newer_version_from_the_same_input_updates_the_story_an_older_one_is_a_copy() -> None:
    """item() is feed:b's, published T0: what it is to a story feed:b filed before."""
    for shown, action in [(T0 - timedelta(hours=1), UPDATE), (T0, UPDATE), (T0 + timedelta(hours=1), DUPLICATE),
                          (None, UPDATE)]:
        decision = decide(owner(Standing("feed:b", shown)), item(), Thresholds())
        assert decision.action == action and decision.match.item_id == "stored", shown
    # Its updated time, when it has one, is the version's time.
    later = item()
    later.updated = T0 + timedelta(hours=2)
    assert decide(owner(Standing("feed:b", T0 + timedelta(hours=1))), later, Thresholds()).action == UPDATE
    # The same words under the same headline: a file sent again, a copy.
    assert decide(owner(Standing("feed:b", T0, title="Northern pier closed")), item(), Thresholds()).action == UPDATE
    same = Candidates({"text": KeyOwner("stored", 100, Standing("feed:b", T0, title="Northern pier closed"))}, [])
    assert decide(same, item(), Thresholds()).action == DUPLICATE
    # By a near match too; and from another input, today's rule (the first copy stays).
    close = Candidates({}, [near("stored", REWRITE, standing=Standing("feed:b", T0))])
    assert decide(close, item(), Thresholds(0.3)).action == UPDATE
    assert decide(owner(Standing("feed:a", T0 - timedelta(hours=1))), item(), Thresholds()).action == DUPLICATE


def test_nothing_takes_a_withdrawn_storys_place() -> None:
    withdrawn = Standing("feed:a", T0, withdrawn=True)
    assert decide(owner(withdrawn, priority=200), item(priority=1), Thresholds()).action == DUPLICATE
    # Its own input's newer version still updates it (it stays withdrawn: the store's part).
    assert decide(owner(Standing("feed:b", T0, withdrawn=True)), item(), Thresholds()).action == UPDATE


def test_held_text_never_replaces_or_updates_a_story_that_is_out_at_once() -> None:
    held = item(priority=1)
    held.embargo = T0 + timedelta(hours=5)
    assert decide(owner(Standing("feed:a", T0), priority=200), held, Thresholds()).action == DUPLICATE
    # A newer version from the story's own input waits for its embargo (HOLD), the story keeps its text.
    decision = decide(owner(Standing("feed:b", T0 - timedelta(hours=1))), held, Thresholds())
    assert (decision.action, decision.match.item_id) == (HOLD, "stored")
    # A story still held itself may be replaced or updated by held text.
    assert decide(owner(Standing("feed:a", T0, held=True), priority=200), held, Thresholds()).action == REPLACE
    assert decide(owner(Standing("feed:b", T0, held=True)), held, Thresholds()).action == UPDATE
    # And text that is out may take a held story's place (its source published it).
    assert decide(owner(Standing("feed:a", T0, held=True), priority=200), item(priority=1), Thresholds()).action == REPLACE


def test_a_version_under_its_own_embargo_is_held_only_when_it_would_be_shown() -> None:
    """What a held version of a story that is out is: HOLD where an update would be, else what it was."""
    def held(hours: float = 0, title: str = "Northern pier closed") -> Item:
        version = item(title=title)
        version.embargo = version.published = T0 + timedelta(hours=hours)  # dated at its embargo, as files are
        return version

    out = Standing("feed:b", T0 + timedelta(hours=1), title="Northern pier closed")
    assert decide(owner(out), held(2), Thresholds()).action == HOLD
    assert decide(owner(out), held(1), Thresholds()).action == HOLD, "written as late as the one shown: it came later"
    assert decide(owner(out), held(0.5), Thresholds()).action == DUPLICATE, "older than the one shown"
    resent = Candidates({"text": KeyOwner("stored", 100, out)}, [])
    assert decide(resent, held(2), Thresholds()).action == DUPLICATE, "the same words and headline: sent again"
    assert decide(resent, held(2, title="UPDATE 1-Northern pier closed"), Thresholds()).action == HOLD
    close = Candidates({}, [near("stored", REWRITE, standing=out)])
    assert decide(close, held(2), Thresholds(0.3)).action == HOLD
    # A withdrawn story's own newer version is held too (shown unseen at its time: undone, it is the newest).
    assert decide(owner(Standing("feed:b", T0, withdrawn=True)), held(2), Thresholds()).action == HOLD
    assert decide(owner(Standing("feed:a", T0)), held(2), Thresholds()).action == DUPLICATE, "another input's copy"


def test_a_held_version_is_shown_at_its_time_only_if_still_the_newest_of_the_storys_own_input() -> None:
    version = item()  # feed:b's, written T0
    assert shows_version(version, Standing("feed:b", T0 - timedelta(minutes=1)))
    assert shows_version(version, Standing("feed:b", T0)), "of two written at once, the one that came later"
    assert not shows_version(version, Standing("feed:b", T0 + timedelta(minutes=1))), "a newer one was shown meanwhile"
    assert not shows_version(version, Standing("feed:a", T0 - timedelta(hours=1))), "the story is another input's now"
    assert shows_version(version, Standing("feed:b", None))
