"""The account's line pool: weighted shares, lending, caps, and learning fewer lines."""

from __future__ import annotations

from dialer.dispatch.lines import LinePool, Member


def _pool(lines: int, *members: tuple[str, float, int, int, bool]) -> LinePool:
    pool = LinePool(lines)
    for name, weight, ceiling, used, wants in members:
        pool.join(Member(name, weight, ceiling, used=lambda u=used: u, wants=lambda w=wants: w))
    return pool


def test_two_hungry_campaigns_split_the_lines_by_weight() -> None:
    pool = _pool(10, ("a", 1.0, 10, 0, True), ("b", 1.0, 10, 0, True))
    assert (pool.free_for("a"), pool.free_for("b")) == (5, 5)
    weighted = _pool(10, ("a", 3.0, 10, 0, True), ("b", 1.0, 10, 0, True))
    assert (weighted.free_for("a"), weighted.free_for("b")) == (8, 2)


def test_a_campaign_with_nothing_due_lends_its_share() -> None:
    pool = _pool(10, ("a", 1.0, 10, 2, True), ("b", 1.0, 10, 1, False))
    assert pool.free_for("a") == 7  # b keeps its one live call; the rest is a's


def test_a_campaign_cap_stays_a_ceiling_and_its_share_goes_to_the_others() -> None:
    pool = _pool(10, ("a", 1.0, 2, 0, True), ("b", 1.0, 10, 0, True))
    assert (pool.free_for("a"), pool.free_for("b")) == (2, 8)


def test_calls_are_never_taken_back_but_no_more_are_claimed_above_a_share() -> None:
    pool = _pool(10, ("a", 1.0, 10, 9, True), ("b", 1.0, 10, 0, True))
    assert pool.free_for("a") == 0
    assert pool.free_for("b") == 1  # only what is free: the account's lines are the limit


def test_a_queued_call_lowers_the_lines_and_says_so() -> None:
    pool = _pool(10, ("a", 1.0, 10, 4, True))
    pool.lower(4)
    assert pool.free_for("a") == 0
    assert pool.notes == [
        "the platform queued a call: the company's lines were all busy, so at most 4 calls "
        "are kept live from now on (was 10)"
    ]
