"""The simulator's state sizes agree with the pool's real trees and storage accounting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shielded.notes.tree import MerkleTree
from shielded.nullifiers.nullifier_set import RevealedNullifier
from shielded.service import PoolConfig, PoolState
from shielded.sim.sizes import measure_sizes, state_bytes, tree_nodes
from shielded.spec import PoolSpec


@settings(max_examples=25, deadline=None)
@given(leaves=st.integers(min_value=0, max_value=70), depth=st.integers(min_value=1, max_value=8))
def test_tree_nodes_matches_merkle_tree_node_count(leaves: int, depth: int) -> None:
    if leaves > 1 << depth:
        return
    tree = MerkleTree(depth)
    tree.append(range(1, leaves + 1))
    assert int(tree_nodes(leaves, depth)) == tree.node_count()


def test_measured_sizes_are_field_elements_and_tagged_nullifiers() -> None:
    sizes = measure_sizes()
    assert sizes.bytes_per_node == 32
    assert sizes.bytes_per_nullifier == 40
    assert sizes.base_bytes == PoolState.genesis(PoolConfig()).storage_bytes()
    assert sizes.bytes_per_leaf == 64


@pytest.mark.parametrize("per_epoch", [(3, 0, 5), (1, 7, 0)])
def test_state_bytes_matches_storage_bytes_of_a_real_pool(per_epoch: tuple[int, ...]) -> None:
    lifetime = 2
    state = PoolState.genesis(PoolConfig(spec=PoolSpec(note_lifetime_epochs=lifetime)))
    leaf = 1
    for epoch, count in enumerate(per_epoch):
        state.trees.begin_epoch(epoch)
        state.nullifiers.prune(epoch)
        state.trees.live.append(range(leaf, leaf + count))
        state.nullifiers.insert(RevealedNullifier(n, epoch) for n in range(leaf, leaf + count))
        leaf += count
    state.trees.permanent.append(range(1, 6))
    state.nullifiers.insert([RevealedNullifier(10**6, len(per_epoch) - 1, permanent=True)])
    live = np.array([len(leaves) for _, leaves in state.trees.live.subtrees()])
    predicted = state_bytes(
        measure_sizes(), live, len(state.trees.permanent), len(state.nullifiers)
    )
    assert predicted == state.storage_bytes()
