"""Commitment trees: incremental batches, paths, the live ring, anchors and their window."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shielded.notes.errors import NotesError
from shielded.notes.poseidon import poseidon
from shielded.notes.tree import (
    SUBTREE_DEPTH,
    TREE_DEPTH,
    CommitmentTrees,
    LiveTree,
    MerkleTree,
    anchor_of,
    root_from_path,
    zero_root,
)


def naive_root(leaves: list[int], depth: int) -> int:
    level = leaves + [0] * ((1 << depth) - len(leaves))
    for _ in range(depth):
        level = [poseidon(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.integers(0, 2**200), max_size=6), max_size=5))
def test_batched_appends_match_a_naive_tree(batches: list[list[int]]) -> None:
    tree = MerkleTree(4)
    leaves: list[int] = []
    for batch in batches:
        if len(leaves) + len(batch) > 16:
            break
        assert tree.append(batch) == list(range(len(leaves), len(leaves) + len(batch)))
        leaves += batch
        assert tree.root == naive_root(leaves, 4)
    for position, leaf in enumerate(leaves):
        assert root_from_path(leaf, position, tree.path(position)) == tree.root


def test_zero_roots_and_full_tree() -> None:
    assert zero_root(2) == poseidon(poseidon(0, 0), poseidon(0, 0))
    tree = MerkleTree(2)
    assert tree.root == zero_root(2)
    tree.append([1, 2, 3, 4])
    with pytest.raises(NotesError, match="full"):
        tree.append([5])
    with pytest.raises(NotesError, match="field element"):
        MerkleTree(3).append([-1])
    with pytest.raises(NotesError, match="no leaf"):
        tree.path(4)


def test_update_rehashes_one_path() -> None:
    tree = MerkleTree(3)
    tree.append([1, 2, 3])
    tree.update(1, 9)
    assert tree.root == naive_root([1, 9, 3], 3)


def test_live_ring_frees_the_expired_epoch_subtree() -> None:
    live = LiveTree(lifetime=2, epoch=0)
    empty = live.root
    first = live.append([11, 12])
    assert first == [0, 1] and live.leaf_count() == 2
    live.begin_epoch(1)
    second = live.append([21])
    assert second == [1 << SUBTREE_DEPTH]
    live.begin_epoch(2)
    live.append([31])
    assert live.epochs() == [0, 1, 2]
    assert live.begin_epoch(3) == [0]  # epoch 0's notes expired by epoch 2
    assert live.epochs() == [1, 2, 3] and live.leaf_count() == 2
    with pytest.raises(NotesError, match="no leaf"):
        live.path(first[0])  # slot 0 now holds epoch 3's (empty) subtree
    assert live.leaf(second[0]) == 21
    assert live.begin_epoch(9) == [1, 2, 3]
    assert live.root == empty and live.node_count() == LiveTree(2).node_count()
    with pytest.raises(NotesError, match="before"):
        live.begin_epoch(8)
    with pytest.raises(NotesError, match="ring"):
        LiveTree(lifetime=40)


def test_anchor_binds_both_trees_and_witnesses_reach_it() -> None:
    trees = CommitmentTrees(lifetime=3, anchor_window=2)
    live_positions = trees.live.append([101, 102, 103])
    permanent_positions = trees.permanent.append([201, 202])
    assert trees.anchor == poseidon(trees.live.root, trees.permanent.root)
    for leaf, position in zip([101, 102, 103], live_positions, strict=True):
        witness = trees.witness(position, permanent=False)
        assert len(witness.siblings) == TREE_DEPTH
        assert anchor_of(leaf, witness, permanent=False) == trees.anchor
    witness = trees.witness(permanent_positions[1], permanent=True)
    assert anchor_of(202, witness, permanent=True) == trees.anchor
    assert anchor_of(202, witness, permanent=False) != trees.anchor


def test_recent_anchor_window() -> None:
    trees = CommitmentTrees(lifetime=1, anchor_window=2)
    genesis = trees.anchor
    trees.live.append([1])
    one = trees.record_anchor()
    assert trees.is_recent_anchor(genesis) and trees.is_recent_anchor(one)
    trees.live.append([2])
    two = trees.record_anchor()
    assert not trees.is_recent_anchor(genesis)
    assert trees.recent_anchors() == [one, two]
    with pytest.raises(NotesError, match="window"):
        CommitmentTrees(lifetime=1, anchor_window=0)


def test_live_tree_restores_from_its_subtrees() -> None:
    live = LiveTree(lifetime=2, epoch=0)
    for epoch in range(4):
        live.begin_epoch(epoch)
        live.append([epoch * 10 + 1, epoch * 10 + 2])
    restored = LiveTree.restore(2, 3, live.subtrees())
    assert restored.root == live.root and restored.epochs() == [1, 2, 3]
    with pytest.raises(NotesError, match="outside the live window"):
        LiveTree.restore(2, 3, [(0, [1])])
    trees = CommitmentTrees(lifetime=2, anchor_window=2)
    with pytest.raises(NotesError, match="window"):
        CommitmentTrees.restore(live, [], 2, [1, 2, 3])
    assert CommitmentTrees.restore(live, [5], 2, [trees.anchor]).permanent.leaves() == (5,)
