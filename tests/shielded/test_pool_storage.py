"""The pool's storage items: incremental writes rebuild exactly the state they came from."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shielded.notes.merkle_tree import MerkleTree, root_from_path, zero_root
from shielded.notes.poseidon import poseidon
from shielded.nullifiers.nullifier_set import RevealedNullifier
from shielded.pool_storage import (
    META_KEY,
    PoolSnapshot,
    PoolStorage,
    PoolStorageError,
    bucket_count_key,
    nullifier_key,
)
from shielded.pow import RecentAnchors, UsedProofs
from shielded.service import PoolConfig, PoolState, ShieldedPool, encode_state
from shielded.spec import PoolSpec

CONFIG = PoolConfig(spec=PoolSpec(name="test", note_lifetime_epochs=2), anchor_window=4)
ACCOUNTS = [bytes([i]) * 32 for i in range(3)]


def naive_root(leaves: list[int], depth: int) -> int:
    level = leaves + [0] * ((1 << depth) - len(leaves))
    for _ in range(depth):
        level = [poseidon(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 40), max_size=4), st.sampled_from([5, 6, 9]))
def test_chunked_tree_matches_a_naive_tree_and_restores_from_its_chunks(
    batches: list[int], depth: int
) -> None:
    tree = MerkleTree(depth)
    store: dict[tuple[int, int], tuple[int, ...]] = {}
    leaves: list[int] = []
    for size in batches:
        batch = [len(leaves) + i + 1 for i in range(min(size, tree.capacity - len(leaves)))]
        tree.append(batch)
        leaves += batch
        for chunk, nodes in tree.take_changes().items():
            assert nodes is not None
            store[chunk] = nodes
    assert tree.root == naive_root(leaves, depth)
    assert set(store) == set(tree.chunk_ids())
    restored = MerkleTree.restore(depth, len(leaves), store.get)
    assert restored.root == tree.root and restored.leaves() == tree.leaves()
    for position in range(0, len(leaves), 7):
        assert root_from_path(leaves[position], position, restored.path(position)) == tree.root
    tree.reset()
    assert set(tree.take_changes()) == set(store) and tree.root == zero_root(depth)


def test_restore_refuses_a_missing_chunk() -> None:
    tree = MerkleTree(6)
    tree.append(range(1, 20))
    chunks = {chunk: tree.chunk(chunk) for chunk in tree.chunk_ids()}
    del chunks[(0, 1)]
    with pytest.raises(Exception, match="chunk"):
        MerkleTree.restore(6, 19, chunks.get)


class Replica:
    """A pool driven directly (no proofs) and the storage items its blocks wrote."""

    def __init__(self) -> None:
        state = PoolState.genesis(CONFIG, {ACCOUNTS[0]: 1_000}, epoch=0)
        snapshot = PoolSnapshot(state, RecentAnchors(CONFIG.spec.recent_anchors), UsedProofs())
        snapshot.anchors.push(bytes(32))
        self.storage = PoolStorage(snapshot)
        self.items: dict[bytes, bytes] = self.storage.all_items()
        self.rng = random.Random(7)
        self.blocks = 0
        self.last_write = 0

    @property
    def state(self) -> PoolState:
        return self.storage.state

    def block(self, operations: list[tuple[str, int]]) -> None:
        state, pool = self.state, ShieldedPool(self.state, verifier=None)  # type: ignore[arg-type]
        for operation, argument in operations:
            if operation == "epoch":
                pool.begin_epoch(state.epoch + 1)
            elif operation in ("live", "permanent"):
                leaves = [self.rng.randrange(1, 2**250) for _ in range(argument)]
                tree = state.trees.live if operation == "live" else state.trees.permanent
                tree.append(leaves)
            elif operation == "reveal":
                state.nullifiers.insert(
                    RevealedNullifier(self.rng.randrange(1, 2**250), state.epoch, argument % 2 == 1)
                    for _ in range(1 + argument % 3)
                )
            elif operation == "pay":
                account = ACCOUNTS[argument % len(ACCOUNTS)]
                state.balances[account] = state.balances.get(account, 0) + argument
            elif operation == "spam":
                snapshot = self.storage.snapshot
                snapshot.used.record(self.rng.randbytes(32), snapshot.anchors.oldest_position)
        anchor = state.trees.record_anchor()
        state.anchor_statistics[anchor] = state.statistics()
        recent = set(state.trees.recent_anchors())
        for old in [a for a in state.anchor_statistics if a not in recent]:
            del state.anchor_statistics[old]
        self.blocks += 1
        self.storage.snapshot.anchors.push(self.blocks.to_bytes(32, "big"))
        self.storage.snapshot.used.prune(self.storage.snapshot.anchors.oldest_position)
        changes = self.storage.take_changes()
        self.last_write = sum(len(k) + len(v or b"") for k, v in changes.items())
        for key, value in changes.items():
            if value is None:
                self.items.pop(key, None)
            else:
                self.items[key] = value

    def check(self) -> None:
        loaded = PoolStorage.load(CONFIG, self.items.get)
        assert encode_state(loaded.state) == encode_state(self.state)
        assert loaded.snapshot.anchors.hashes() == self.storage.snapshot.anchors.hashes()
        used = self.storage.snapshot.used.live_view()
        assert dict(loaded.snapshot.used.live_view()) == dict(used)
        assert loaded.state.trees.anchor == self.state.trees.anchor
        # Nothing is left behind: the items are exactly a fresh projection's, up to how
        # nullifier batches are split.
        fresh = PoolStorage(loaded.snapshot).all_items()

        def unbatched(items: dict[bytes, bytes]) -> set[bytes]:
            return {k for k in items if not k.startswith((b"nfb", b"nfc"))}

        assert unbatched(fresh) == unbatched(self.items)
        assert {k: v for k, v in fresh.items() if k in unbatched(fresh)} == {
            k: v for k, v in self.items.items() if k in unbatched(self.items)
        }


OPERATION = st.tuples(
    st.sampled_from(["epoch", "live", "permanent", "reveal", "pay", "spam"]),
    st.integers(0, 20),
)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(OPERATION, max_size=5), min_size=1, max_size=8))
def test_incremental_items_rebuild_the_pool(blocks: list[list[tuple[str, int]]]) -> None:
    replica = Replica()
    for operations in blocks:
        replica.block(operations)
        replica.check()


def test_pruning_an_epoch_deletes_its_nullifier_keys() -> None:
    replica = Replica()
    replica.block([("reveal", 0), ("reveal", 2)])  # ephemeral nullifiers of epoch 0
    revealed = [entry.nullifier for entry in replica.state.nullifiers.entries()]
    assert all(nullifier_key(n) in replica.items for n in revealed)
    for _ in range(CONFIG.lifetime + 1):
        replica.block([("epoch", 0)])
    assert not any(nullifier_key(n) in replica.items for n in revealed)
    assert bucket_count_key(0, False) not in replica.items
    replica.check()


def test_a_blocks_writes_do_not_grow_with_the_pool() -> None:
    small, large = Replica(), Replica()
    small.block([("live", 600), ("permanent", 300)])
    large.block([("live", 6000), ("permanent", 300)] + [("reveal", 1)] * 200)
    for replica in (small, large):
        replica.block([("live", 20), ("permanent", 4), ("reveal", 0)])
    assert large.last_write <= small.last_write * 1.3


def test_malformed_items_give_a_typed_error() -> None:
    replica = Replica()
    replica.block([("live", 3)])
    items = dict(replica.items)
    items[META_KEY] = b"\x00" * 5
    with pytest.raises(PoolStorageError, match="meta"):
        PoolStorage.load(CONFIG, items.get)
    del items[META_KEY]
    with pytest.raises(PoolStorageError, match="missing"):
        PoolStorage.load(CONFIG, items.get)
