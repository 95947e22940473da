"""The lazily read pool (`shielded.pool_lazy`) against the fully loaded one.

Each block runs on the in-memory pool (`PoolStorage`, kept across blocks as the node
keeps it) and on a `LazyPoolStorage` loaded afresh over the items the earlier blocks
wrote (as the native service does): the same changes every block, the same state after a
full load, and reads that depend on the block, not on the size of the pool.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shielded.notes.lazy_tree import LazyLevel, LazyMerkleTree
from shielded.notes.merkle_tree import MerkleTree
from shielded.nullifiers.errors import NullifierError
from shielded.nullifiers.nullifier_set import RevealedNullifier
from shielded.pool_lazy import LazyPoolStorage
from shielded.pool_storage import (
    ACCOUNTS_KEY,
    META_KEY,
    PoolSnapshot,
    PoolStorage,
    PoolStorageError,
    balance_key,
    bucket_count_key,
    bucket_key,
    chunk_key,
    nullifier_key,
    tree_size_key,
)
from shielded.pow import RecentAnchors, UsedProofs
from shielded.service import PoolConfig, PoolState, ShieldedPool, encode_state
from shielded.spec import PoolSpec

CONFIG = PoolConfig(
    spec=PoolSpec(name="lazy-test", note_lifetime_epochs=2, recent_anchors=3), anchor_window=4
)
ACCOUNTS = [bytes([i + 1]) * 32 for i in range(5)]
Operation = tuple[str, int]


def counting(items: dict[bytes, bytes], reads: list[bytes]) -> Callable[[bytes], bytes | None]:
    def read(key: bytes) -> bytes | None:
        reads.append(key)
        return items.get(key)

    return read


@dataclass
class Outcome:
    """What one block did: its changes, the keys the lazy pool read, the refused reveals."""

    changes: dict[bytes, bytes | None]
    reads: list[bytes]
    refused: int


def run_block(
    storage: PoolStorage, turns: int, operations: Sequence[Operation], seed: int, number: int
) -> int:
    """One block as `accumulate` orders it: the epoch turn, the operations, then the anchor
    and the spam-proof window. Returns how many reveals were refused (double spends)."""
    state, snapshot = storage.state, storage.snapshot
    pool = ShieldedPool(state, verifier=None)  # type: ignore[arg-type]
    rng = random.Random(seed)
    if turns:
        pool.begin_epoch(state.epoch + turns)
    refused = 0
    for operation, argument in operations:
        if operation in ("live", "permanent"):
            leaves = [rng.randrange(1, 2**250) for _ in range(argument)]
            tree = state.trees.live if operation == "live" else state.trees.permanent
            tree.append(leaves)
        elif operation == "reveal":
            # Fresh nullifiers, or again one of the first ones (revealed in every pool).
            values = [rng.randrange(1, 2**250) for _ in range(1 + argument % 3)]
            if argument % 4 == 3:
                values[0] = argument
            try:
                state.nullifiers.check_unspent(values)
                state.nullifiers.insert(
                    RevealedNullifier(v, state.epoch, argument % 2 == 1) for v in values
                )
            except NullifierError:
                refused += 1
        elif operation == "pay":
            source = ACCOUNTS[argument % 2]
            target = ACCOUNTS[(argument // 2) % len(ACCOUNTS)]
            amount = min(argument, state.balances.get(source, 0))
            state.balances[source] -= amount
            state.balances[target] = state.balances.get(target, 0) + amount
        elif operation == "epoch":  # a turn after reveals: they may be pruned at once
            pool.begin_epoch(state.epoch + 1 + argument % 3)
        elif operation == "spam":
            position = snapshot.anchors.oldest_position + argument % len(snapshot.anchors)
            snapshot.used.record(rng.randbytes(32), position)
    anchor = state.trees.record_anchor()
    state.anchor_statistics[anchor] = state.statistics()
    recent = set(state.trees.recent_anchors())
    for old in [a for a in state.anchor_statistics if a not in recent]:
        del state.anchor_statistics[old]
    snapshot.anchors.push(number.to_bytes(32, "big"))
    snapshot.used.prune(snapshot.anchors.oldest_position)
    return refused


class Pools:
    """The in-memory pool, the items its blocks wrote, and a lazy pool per block."""

    def __init__(self, live: int = 0, permanent: int = 0, nullifiers: int = 0, accounts: int = 0):
        funded = {ACCOUNTS[0]: 10_000, ACCOUNTS[1]: 10_000}
        funded.update({i.to_bytes(32, "big"): 1 for i in range(1, accounts + 1)})
        state = PoolState.genesis(CONFIG, funded)
        state.trees.live.append(range(1, live + 1))
        state.trees.permanent.append(range(1, permanent + 1))
        state.nullifiers.insert(RevealedNullifier(v, 0, v % 2 == 0) for v in range(3, nullifiers))
        window = RecentAnchors(
            CONFIG.spec.recent_anchors,
            (bytes((0xEE, i)) + bytes(30) for i in range(CONFIG.spec.recent_anchors)),
        )
        self.full = PoolStorage(PoolSnapshot(state, window, UsedProofs()))
        self.items = {k: v for k, v in self.full.all_items().items() if v}
        self.blocks = 0

    def block(self, turns: int, operations: Sequence[Operation], seed: int = 0) -> Outcome:
        self.blocks += 1
        reads: list[bytes] = []
        lazy = LazyPoolStorage.load(CONFIG, counting(self.items, reads))
        refused = run_block(self.full, turns, operations, seed, self.blocks)
        assert run_block(lazy, turns, operations, seed, self.blocks) == refused
        changes = self.full.take_changes()
        assert lazy.take_changes() == changes
        assert len(reads) == len(set(reads)), "an item was read twice"
        for key, value in changes.items():
            if value:
                self.items[key] = value
            else:
                self.items.pop(key, None)
        return Outcome(changes, reads, refused)

    def check(self) -> None:
        """A full load of the items is the in-memory pool."""
        loaded = PoolStorage.load(CONFIG, self.items.get)
        assert encode_state(loaded.state) == encode_state(self.full.state)
        assert loaded.state.trees.anchor == self.full.state.trees.anchor
        assert loaded.snapshot.anchors.hashes() == self.full.snapshot.anchors.hashes()
        assert dict(loaded.snapshot.used.live_view()) == dict(self.full.snapshot.used.live_view())
        # Nothing is left behind: the items are a fresh projection's (up to how the
        # nullifiers are batched).
        fresh = PoolStorage(loaded.snapshot).all_items()

        def unbatched(items: dict[bytes, bytes]) -> dict[bytes, bytes]:
            return {k: v for k, v in items.items() if v and not k.startswith((b"nfb", b"nfc"))}

        assert unbatched(fresh) == unbatched(self.items)

OPERATION = st.tuples(
    st.sampled_from(["live", "permanent", "reveal", "pay", "spam", "epoch"]), st.integers(0, 40)
)
BLOCK = st.tuples(st.sampled_from([0, 0, 0, 1, 3]), st.lists(OPERATION, max_size=5))


@settings(max_examples=40, deadline=None)
@given(st.lists(BLOCK, min_size=1, max_size=10), st.integers(0, 40))
def test_a_lazy_pool_writes_what_the_full_pool_writes(
    blocks: list[tuple[int, list[Operation]]], prefill: int
) -> None:
    pools = Pools(live=prefill, permanent=prefill // 2, nullifiers=prefill, accounts=2)
    for index, (turns, operations) in enumerate(blocks):
        pools.block(turns, operations, seed=index)
        pools.check()


def test_a_lazy_pool_may_go_on_for_several_blocks() -> None:
    pools = Pools(live=30, nullifiers=10)
    lazy = LazyPoolStorage.load(CONFIG, dict(pools.items).get)
    plan = [
        (0, [("live", 20), ("reveal", 4), ("pay", 5)]),
        (1, [("reveal", 6), ("permanent", 17), ("spam", 1)]),
        (1, [("reveal", 3), ("pay", 9)]),
        (3, [("live", 3), ("spam", 0)]),
    ]
    for number, (turns, operations) in enumerate(plan, start=1):
        run_block(lazy, turns, operations, number, number)
        assert lazy.take_changes() == pools.block(turns, operations, number).changes
    pools.check()


def test_a_reveal_pruned_in_its_own_block_writes_nothing() -> None:
    pools = Pools(live=5, nullifiers=6)
    # One ephemeral and two permanent reveals, then epoch 0 -> 3 prunes epoch 0's ephemeral
    # ones: 3 and 5 of the genesis, and the block's, which had no item yet.
    outcome = pools.block(0, [("reveal", 0), ("reveal", 1), ("epoch", 2)])
    changes = outcome.changes
    written = {k: v for k, v in changes.items() if v and k.startswith(b"nf") and len(k) == 34}
    assert len(written) == 2 and all(value[4] == 1 for value in written.values())
    deleted = {k for k, v in changes.items() if len(k) == 34 and v is None}
    assert deleted == {nullifier_key(3), nullifier_key(5)}
    ephemeral = bucket_key(0, False, 0)[:8]
    assert all(v is None for k, v in changes.items() if k.startswith(ephemeral))
    assert changes[bucket_count_key(0, False)] is None
    assert len(pools.full.state.nullifiers) == 1 + 2  # 4 of the genesis and the block's two
    pools.check()


# -- reads: what a block touches, not the pool -----------------------------------------------

SAME_BLOCKS: list[tuple[int, list[Operation]]] = [
    (0, []),
    (0, [("live", 9), ("permanent", 5)]),
    (0, [("reveal", 0), ("reveal", 1), ("reveal", 7), ("pay", 4), ("pay", 9)]),
    (0, [("spam", 0), ("spam", 2), ("live", 40)]),
    (1, [("live", 2), ("reveal", 2)]),
    (3, [("permanent", 1)]),
]


def test_reads_per_block_do_not_grow_with_the_pool() -> None:
    # Both pools hold a multiple of 16 plus 4 leaves in each tree: the frontier chunk of
    # every stored level exists in both.
    small = Pools(live=100, permanent=36, nullifiers=20, accounts=3)
    large = Pools(live=20_100, permanent=20_036, nullifiers=5_000, accounts=2_000)
    counts = []
    for seed, (turns, operations) in enumerate(SAME_BLOCKS):
        one, other = small.block(turns, operations, seed), large.block(turns, operations, seed)
        assert one.refused == other.refused
        assert len(one.reads) == len(other.reads)
        counts.append(len(one.reads))
    small.check()
    large.check()
    # The empty block reads only the small items: meta, ring, anchors, personhood, the
    # N + 3 tree sizes, the spam window and its K positions; and the two roots (anchor).
    assert counts[0] == 5 + (CONFIG.lifetime + 3) + CONFIG.spec.recent_anchors + 2
    # Appending reads at most the frontier chunk of each stored level of the trees.
    live_levels = len(MerkleTree(23).stored_levels) + len(MerkleTree(5).stored_levels)
    assert counts[1] - counts[0] <= live_levels + len(MerkleTree(28).stored_levels)


def test_the_reads_of_a_block() -> None:
    pools = Pools(live=20, nullifiers=10, accounts=1)
    base = len(pools.block(0, []).reads)
    # A double spend of nullifier 3 (revealed at genesis) and a fresh reveal: one `nf`
    # read each, plus the ephemeral batch count of the epoch.
    outcome = pools.block(0, [("reveal", 3), ("reveal", 4)])
    assert outcome.refused == 1
    assert len([k for k in outcome.reads if k.startswith(b"nf") and len(k) == 34]) == 1 + 2
    # Paying an account that has no balance yet reads its item and the accounts index.
    outcome = pools.block(0, [("pay", 4 * 2)])  # ACCOUNTS[0] -> ACCOUNTS[4]
    assert balance_key(ACCOUNTS[4]) in outcome.reads and ACCOUNTS_KEY in outcome.reads
    assert ACCOUNTS_KEY in outcome.changes
    # Paying known accounts leaves the index alone.
    outcome = pools.block(0, [("pay", 1 * 2 + 0)])
    assert ACCOUNTS_KEY not in outcome.reads and ACCOUNTS_KEY not in outcome.changes
    # Freeing an expired subtree deletes its chunks without reading them.
    pools.block(0, [("live", 40)])
    outcome = pools.block(3, [])
    subtree = 2 + 0  # FIRST_SUBTREE + the ring slot of epoch 0
    deleted = [k for k, v in outcome.changes.items() if v is None and k.startswith(b"tree\x02c")]
    assert deleted and not set(deleted) & set(outcome.reads)
    assert tree_size_key(subtree) in outcome.changes
    assert len(outcome.reads) > base  # the pruned epoch's batches


# -- the parts ---------------------------------------------------------------------------------


def test_a_lazy_level_is_a_list() -> None:
    stored = list(range(100, 137))
    loads: list[int] = []

    def load(index: int) -> list[int]:
        loads.append(index)
        return stored[index * 16 : index * 16 + 16]

    level, model = LazyLevel(4, len(stored), load), list(stored)
    assert len(level) == 37 and level[-1] == 136 and loads == [2]
    level.append(1)
    model.append(1)
    level[3] = model[3] = 7
    level.extend([2, 3] * 20)
    model.extend([2, 3] * 20)
    assert level[30:70] == model[30:70] and level[::7] == model[::7] and list(level) == model
    assert sorted(loads) == [0, 1, 2]
    with pytest.raises(IndexError):
        level[len(model)]
    level.clear()
    level.append(5)
    assert list(level) == [5] and sorted(loads) == [0, 1, 2]
    short = LazyLevel(4, 20, lambda index: [1] * 3)
    with pytest.raises(Exception, match=r"tree chunk \(1\): expected 4 nodes, got 3"):
        short[17]


def test_a_lazy_tree_is_the_tree() -> None:
    tree = MerkleTree(9)
    tree.append(range(1, 301))
    chunks = {chunk: list(tree.chunk(chunk)) for chunk in tree.chunk_ids()}
    tree.take_changes()
    touched: list[tuple[int, int]] = []

    def read(chunk: tuple[int, int]) -> list[int] | None:
        touched.append(chunk)
        return chunks.get(chunk)

    lazy = LazyMerkleTree(9, 300, read)
    assert lazy.root == tree.root and touched == [(9, 0)]
    assert lazy.append(range(7, 60)) == tree.append(range(7, 60))
    assert lazy.root == tree.root and lazy.take_changes() == tree.take_changes()
    assert touched == [(9, 0), (0, 18), (4, 1), (8, 0)]  # the root, then each frontier
    assert lazy.path(5) == tree.path(5) and lazy.leaves() == tree.leaves()
    chunks.pop((0, 2))
    with pytest.raises(Exception, match="chunk"):
        LazyMerkleTree(9, 300, chunks.get).path(40)


def test_malformed_or_old_items_give_a_typed_error() -> None:
    pools = Pools(live=3)
    items = dict(pools.items)
    items[META_KEY] = items[META_KEY][:56]  # seven numbers: no nullifier count
    PoolStorage.load(CONFIG, items.get)  # a full load still reads it
    with pytest.raises(PoolStorageError, match="nullifier count"):
        LazyPoolStorage.load(CONFIG, items.get)
    items = dict(pools.items)
    items[chunk_key(2, (0, 0))] = bytes(31)
    lazy = LazyPoolStorage.load(CONFIG, items.get)
    with pytest.raises(PoolStorageError, match="chunk"):
        lazy.state.trees.live.append([1])
    with pytest.raises(PoolStorageError, match="cannot list"):
        lazy.all_items()
