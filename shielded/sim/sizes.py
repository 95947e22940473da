"""Bytes of pool state per item, measured on the pool's real objects (design sections 3, 7).

The consensus state a validator keeps is what `shielded.service.PoolState.storage_bytes`
counts: every stored node of the commitment trees and every entry of the nullifier set.
`measure_sizes` builds a real genesis `PoolState`, appends real commitments to its permanent
tree, inserts real nullifiers and encrypts a real note, and reads the per-item sizes off the
differences:

* `bytes_per_node`: growth of `storage_bytes()` / growth of the trees' `node_count()` when
  leaves are appended (a field element: 32 B);
* `bytes_per_nullifier`: growth of `storage_bytes()` per inserted nullifier (32 B value +
  8 B reveal-epoch tag = 40 B);
* `base_bytes`: `storage_bytes()` of the empty pool (the live tree's ring of
  2^RING_BITS slots, 2^(RING_BITS+1) - 1 nodes);
* `ciphertext_bytes`: length of `encrypt_note` output; ciphertexts are not consensus state,
  but every wallet must fetch and trial-decrypt one per leaf it could own, so the model
  reports (live leaves + permanent leaves) x ciphertext_bytes as the scan load.

A `MerkleTree` of depth d holding n leaves stores ceil(n / 2^h) nodes at every height
h = 0..d (`tree_nodes`; a test checks it against `MerkleTree.node_count`), so each leaf costs
about two nodes (~64 B) plus one path of d nodes per non-empty tree. The live tree is one
subtree of depth SUBTREE_DEPTH per epoch in the window, the permanent tree has depth
TREE_DEPTH; `state_bytes` sums those with the nullifiers exactly as `storage_bytes` does.
The measurement runs once per process (`functools.cache`), in well under a second.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from shielded.notes.encryption import encrypt_note
from shielded.notes.keys import SpendingKey
from shielded.notes.note import Note
from shielded.notes.tree import SUBTREE_DEPTH, TREE_DEPTH
from shielded.nullifiers.nullifier_set import RevealedNullifier
from shielded.service import PoolConfig, PoolState

CALIBRATION_ITEMS = 64
"""Leaves and nullifiers added to the calibration pool."""


@dataclass(frozen=True)
class StateSizes:
    """Per-item byte sizes of the pool's state, as measured by `measure_sizes`."""

    bytes_per_node: int
    bytes_per_nullifier: int
    base_bytes: int
    ciphertext_bytes: int
    live_subtree_depth: int = SUBTREE_DEPTH
    permanent_depth: int = TREE_DEPTH

    @property
    def bytes_per_leaf(self) -> float:
        """Marginal bytes of one more leaf in a large tree (two nodes)."""
        return 2.0 * self.bytes_per_node


def tree_nodes(leaves: np.ndarray | int, depth: int) -> np.ndarray:
    """Nodes stored by append-only Merkle trees of `depth` holding `leaves` each:
    sum over h = 0..depth of ceil(leaves / 2^h) (zero for an empty tree)."""
    counts = np.asarray(leaves, dtype=np.int64)
    total = np.zeros_like(counts)
    for height in range(depth + 1):
        total += (counts + ((1 << height) - 1)) >> height
    return total


@functools.cache
def measure_sizes() -> StateSizes:
    """Measure the per-item sizes on a real `PoolState` (see the module docstring)."""
    state = PoolState.genesis(PoolConfig())
    base = state.storage_bytes()
    nodes_before = state.trees.permanent.node_count() + state.trees.live.node_count()
    # Consecutive small integers are valid, distinct BN254 field elements.
    state.trees.permanent.append(range(1, CALIBRATION_ITEMS + 1))
    grown_nodes = state.trees.permanent.node_count() + state.trees.live.node_count()
    tree_bytes = state.storage_bytes() - base
    per_node, remainder = divmod(tree_bytes, grown_nodes - nodes_before)
    assert remainder == 0, "tree storage is not a whole number of bytes per node"
    before = state.storage_bytes()
    state.nullifiers.insert(RevealedNullifier(n, 0) for n in range(1, CALIBRATION_ITEMS + 1))
    per_nullifier, remainder = divmod(state.storage_bytes() - before, CALIBRATION_ITEMS)
    assert remainder == 0, "nullifier storage is not a whole number of bytes per entry"
    owner = SpendingKey.from_seed(bytes(32))
    ciphertext = encrypt_note(Note.create(1, owner.pk, 1), owner.address)
    return StateSizes(
        bytes_per_node=per_node,
        bytes_per_nullifier=per_nullifier,
        base_bytes=base,
        ciphertext_bytes=len(ciphertext),
    )


def state_bytes(
    sizes: StateSizes, live_leaves: np.ndarray, permanent_leaves: int, nullifiers: int
) -> int:
    """`PoolState.storage_bytes` of a pool whose live subtrees hold `live_leaves` (one count
    per epoch in the window), whose permanent tree holds `permanent_leaves` and whose
    nullifier set holds `nullifiers` entries."""
    nodes = int(tree_nodes(live_leaves, sizes.live_subtree_depth).sum())
    nodes += int(tree_nodes(permanent_leaves, sizes.permanent_depth))
    return sizes.base_bytes + sizes.bytes_per_node * nodes + sizes.bytes_per_nullifier * nullifiers
