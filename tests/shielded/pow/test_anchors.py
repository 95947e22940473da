"""The recent-block-hash window and the used-proof registry."""

from __future__ import annotations

import pytest

from shielded.pow import RecentAnchors, ReplayedProof, StaleAnchor, UnknownAnchor, UsedProofs
from shielded.pow.errors import MalformedProof
from tests.shielded.pow.helpers import block_hash, tx_id


def test_window_keeps_exactly_the_last_k_hashes():
    window = RecentAnchors(3, (block_hash(h) for h in range(5)))
    assert window.hashes() == (block_hash(2), block_hash(3), block_hash(4))
    assert len(window) == 3
    assert window.newest == block_hash(4)
    assert window.oldest_position == 2
    assert window.position(block_hash(3)) == 3
    assert block_hash(1) not in window


def test_invalid_anchor_that_left_the_window_is_stale():
    window = RecentAnchors(3, (block_hash(h) for h in range(5)))
    with pytest.raises(StaleAnchor, match="3 blocks old"):
        window.position(block_hash(1))


def test_invalid_anchor_never_seen_is_unknown():
    window = RecentAnchors(3, (block_hash(h) for h in range(5)))
    with pytest.raises(UnknownAnchor):
        window.position(block_hash(99))
    # Stale memory is bounded too: hashes that left long ago become unknown.
    with pytest.raises(UnknownAnchor):
        RecentAnchors(2, (block_hash(h) for h in range(10))).position(block_hash(0))


def test_copy_follows_a_fork_independently():
    main = RecentAnchors(4, (block_hash(h) for h in range(3)))
    fork = main.copy()
    fork.push(block_hash(100))
    main.push(block_hash(3))
    assert block_hash(100) in fork and block_hash(100) not in main
    assert block_hash(3) in main and block_hash(3) not in fork


def test_invalid_block_hash_is_rejected_and_changes_nothing():
    window = RecentAnchors(2, [block_hash(0)])
    with pytest.raises(MalformedProof):
        window.push(b"short")
    assert window.hashes() == (block_hash(0),)
    with pytest.raises(MalformedProof):
        RecentAnchors(0)


def test_registry_rejects_a_second_use_and_prunes_with_the_window():
    used = UsedProofs()
    used.record(tx_id(1), anchor_position=5)
    used.record(tx_id(2), anchor_position=7)
    with pytest.raises(ReplayedProof, match=tx_id(1).hex()):
        used.ensure_unused(tx_id(1))
    with pytest.raises(ReplayedProof):
        used.record(tx_id(1), anchor_position=7)
    assert used.prune(oldest_live_position=6) == 1
    assert tx_id(1) not in used and tx_id(2) in used
    clone = used.copy()
    clone.record(tx_id(3), anchor_position=8)
    assert tx_id(3) not in used and len(clone) == 2


def test_positions_can_start_at_a_block_number():
    window = RecentAnchors(2, [block_hash(0), block_hash(1)], first_position=100)
    assert window.position(block_hash(1)) == 101
    assert window.oldest_position == 100


def test_without_retired_memory_a_stale_anchor_reads_as_unknown():
    window = RecentAnchors(2, map(block_hash, range(3)), retired_capacity=0)
    with pytest.raises(UnknownAnchor):
        window.position(block_hash(0))
