"""The pool's service storage: every part of its state as storage items (design §3).

The shielded pool is a JAM service; its state lives in the service's storage items in the
merklized state (graypaper eq. D.2: item k of service s sits under C(s, E_4(2^32-1) ++ k)),
so the state root commits to every commitment, nullifier and balance, and a light client
can prove any of them with a trie path. The layout (raw item keys; integers big-endian):

- commitment trees (tree 0: permanent, 1: the live ring level, 2 + k: the epoch subtree in
  ring slot k): `tree ‖ id ‖ c ‖ level ‖ chunk(4)` holds one 16-wide chunk of a stored level
  (`merkle_tree.MerkleTree`: every fourth level, so the items are the tree's nodes and its
  frontier); `tree ‖ id ‖ size` the leaf count; `ring` the epoch each slot holds;
- nullifiers: `nf ‖ nullifier(32)` -> reveal epoch(4) ‖ permanent(1), the item a proof of
  "spent" shows; by epoch, `nfb ‖ epoch(4) ‖ permanent(1) ‖ seq(4)` one block's batch and
  `nfc ‖ epoch ‖ permanent` the number of batches (pruning an epoch deletes its keys);
- `bal ‖ account(32)` a transparent balance (u64) and `accounts` the funded accounts;
- `meta` (epoch, pool value, locked collateral, fee ledger, nullifier count; an item of
  the first seven alone still loads), `anchors` (the recent spend anchors with the pool
  statistics at each), `personhood` (this epoch's alias usage);
- the spam-proof registry: `spam/window` (the recent block hashes) and `spam/used ‖
  position(8)` (transaction ids whose proof is anchored at that position).

`PoolStorage.take_changes` returns only the items a block changed (each tree reports its
touched chunks, the nullifier set its journal; small items are compared with what was
last written), so a block's writes do not grow with the pool. `PoolStorage.load` rebuilds
the whole in-memory state from the items without hashing; `shielded.pool_lazy` reads only
what a block touches (the native service). Storage is data, never code: nothing here
unpickles or evaluates anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass

from shielded import fees
from shielded.circuits.spend import SpendVerifier
from shielded.notes.errors import NotesError
from shielded.notes.merkle_tree import ChunkId, MerkleTree
from shielded.notes.tree import RING_BITS, SUBTREE_DEPTH, TREE_DEPTH, CommitmentTrees, LiveTree
from shielded.nullifiers.errors import NullifierError
from shielded.nullifiers.nullifier_set import NullifierSet, RevealedNullifier
from shielded.pow import RecentAnchors, SpamProofError, SpamProofVerifier, UsedProofs
from shielded.service import PoolConfig, PoolState, PoolStatistics, ShieldedPool
from shielded.transaction import TransactionError

Reader = Callable[[bytes], bytes | None]
"""Reads one raw storage item of the pool service (None if absent)."""

PERMANENT_TREE = 0
RING_TREE = 1
FIRST_SUBTREE = 2
ACCOUNTS_KEY = b"accounts"
META_KEY = b"meta"
ANCHORS_KEY = b"anchors"
PERSONHOOD_KEY = b"personhood"
RING_KEY = b"ring"
SPAM_WINDOW_KEY = b"spam/window"
SPAM_USED_PREFIX = b"spam/used"
FREE_SLOT = 2**32 - 1


class PoolStorageError(TransactionError):
    """The pool's storage items are missing, malformed or inconsistent."""


def chunk_key(tree: int, chunk: ChunkId) -> bytes:
    level, index = chunk
    return b"tree" + bytes((tree,)) + b"c" + bytes((level,)) + index.to_bytes(4, "big")


def tree_size_key(tree: int) -> bytes:
    return b"tree" + bytes((tree,)) + b"size"


def nullifier_key(nullifier: int) -> bytes:
    """The item recording that `nullifier` was revealed (epoch and tier)."""
    return b"nf" + nullifier.to_bytes(32, "big")


def bucket_key(epoch: int, permanent: bool, seq: int) -> bytes:
    return b"nfb" + epoch.to_bytes(4, "big") + bytes((permanent,)) + seq.to_bytes(4, "big")


def bucket_count_key(epoch: int, permanent: bool) -> bytes:
    return b"nfc" + epoch.to_bytes(4, "big") + bytes((permanent,))


def balance_key(account: bytes) -> bytes:
    return b"bal" + account


def spam_used_key(position: int) -> bytes:
    return SPAM_USED_PREFIX + position.to_bytes(8, "big")


def decode_nullifier_record(nullifier: int, value: bytes) -> RevealedNullifier:
    """A `nullifier_key` item's value as the reveal it records."""
    _ensure(len(value) == 5 and value[4] in (0, 1), "malformed nullifier record")
    return RevealedNullifier(nullifier, int.from_bytes(value[:4], "big"), bool(value[4]))


def _ensure(condition: bool, message: str) -> None:
    if not condition:
        raise PoolStorageError(message)


def _fields(values: tuple[int, ...] | list[int]) -> bytes:
    return b"".join(value.to_bytes(32, "big") for value in values)


def _split(data: bytes, width: int, what: str) -> list[bytes]:
    _ensure(len(data) % width == 0, f"malformed {what}: {len(data)} octets")
    return [data[i : i + width] for i in range(0, len(data), width)]


def _ints(data: bytes, width: int, what: str) -> list[int]:
    return [int.from_bytes(part, "big") for part in _split(data, width, what)]


@dataclass
class PoolSnapshot:
    """Everything the pool needs to continue from a block: its state and spam registry."""

    state: PoolState
    anchors: RecentAnchors
    used: UsedProofs

    def service(self, verifier: SpendVerifier) -> ShieldedPool:
        spam = SpamProofVerifier(self.state.config.spec, self.anchors, self.used)
        return ShieldedPool(self.state, verifier, spam=spam)


class PoolStorage:
    """A `PoolSnapshot` and the storage items last written for it."""

    def __init__(self, snapshot: PoolSnapshot) -> None:
        self.snapshot = snapshot
        self._small: dict[bytes, bytes] = {}
        self._balances: dict[bytes, int] = {}
        self._used: dict[int, bytes] = {}
        self._buckets: MutableMapping[tuple[int, bool], int] = {}
        """Batches written per (epoch, permanent) nullifier bucket (the `nfc` items)."""

    @property
    def state(self) -> PoolState:
        return self.snapshot.state

    def _trees(self) -> Iterator[tuple[int, MerkleTree]]:
        trees = self.state.trees
        yield PERMANENT_TREE, trees.permanent
        yield RING_TREE, trees.live.top
        for slot in range(trees.live.slots):
            yield FIRST_SUBTREE + slot, trees.live.subtree(slot)

    def _fixed_items(self) -> dict[bytes, bytes]:
        """The small items of bounded size, rewritten when they change: all but `accounts`."""
        state = self.state
        ledger = state.fee_ledger
        numbers = (
            state.epoch,
            state.pool_value,
            state.locked_collateral,
            ledger.burned,
            ledger.burned_by_transfers,
            ledger.burned_by_withdrawals,
            ledger.fee_paying_transactions,
            len(state.nullifiers),
        )
        items = {
            META_KEY: b"".join(n.to_bytes(8, "big") for n in numbers),
            ANCHORS_KEY: b"".join(
                anchor.to_bytes(32, "big")
                + state.anchor_statistics[anchor].pool_value.to_bytes(8, "big")
                + state.anchor_statistics[anchor].live_notes.to_bytes(8, "big")
                for anchor in state.trees.recent_anchors()  # with repeats: the window's order
            ),
            PERSONHOOD_KEY: b"".join(
                epoch.to_bytes(8, "big") + alias + used.to_bytes(8, "big")
                for (epoch, alias), used in sorted(state.personhood_used.items())
            ),
            RING_KEY: b"".join(
                (FREE_SLOT if held is None else held).to_bytes(4, "big")
                for held in state.trees.live.slot_epochs()
            ),
            SPAM_WINDOW_KEY: self.snapshot.anchors.oldest_position.to_bytes(8, "big")
            + b"".join(self.snapshot.anchors.hashes()),
        }
        for tree_id, tree in self._trees():
            items[tree_size_key(tree_id)] = len(tree).to_bytes(4, "big")
        return items

    def _small_items(self) -> dict[bytes, bytes]:
        """The items compared whole with what was last written (`_fixed_items`, `accounts`)."""
        items = self._fixed_items()
        items[ACCOUNTS_KEY] = b"".join(sorted(self.state.balances))
        return items

    def _used_items(self) -> dict[int, bytes]:
        by_position: dict[int, list[bytes]] = {}
        for tx_id, position in self.snapshot.used.live_view().items():
            by_position.setdefault(position, []).append(tx_id)
        return {position: b"".join(ids) for position, ids in by_position.items()}

    def all_items(self) -> dict[bytes, bytes]:
        """Every storage item of the pool (a genesis state); resets the change tracking."""
        items = dict(self._small_items())
        for tree_id, tree in self._trees():
            tree.take_changes()
            for chunk in tree.chunk_ids():
                items[chunk_key(tree_id, chunk)] = _fields(tree.chunk(chunk))
        for account, balance in self.state.balances.items():
            items[balance_key(account)] = balance.to_bytes(8, "big")
        for position, ids in self._used_items().items():
            items[spam_used_key(position)] = ids
        self.state.nullifiers.take_changes()
        groups: dict[tuple[int, bool], list[int]] = {}
        for entry in self.state.nullifiers.entries():
            items[nullifier_key(entry.nullifier)] = _nullifier_value(entry)
            groups.setdefault((entry.epoch, entry.permanent), []).append(entry.nullifier)
        self._buckets = {}
        for (epoch, permanent), nullifiers in groups.items():
            items[bucket_key(epoch, permanent, 0)] = _fields(nullifiers)
            items[bucket_count_key(epoch, permanent)] = (1).to_bytes(4, "big")
            self._buckets[epoch, permanent] = 1
        self._small = self._small_items()
        self._balances = dict(self.state.balances)
        self._used = self._used_items()
        return items

    def take_changes(self) -> dict[bytes, bytes | None]:
        """The items changed since the last call (None: deleted), and track them as written."""
        changes: dict[bytes, bytes | None] = {}
        small = self._small_items()
        for key, value in small.items():
            if self._small.get(key) != value:
                changes[key] = value
        self._small = small
        self._balance_changes(changes)
        used = self._used_items()
        for position in self._used.keys() | used.keys():
            if self._used.get(position) != used.get(position):
                changes[spam_used_key(position)] = used.get(position)
        self._used = used
        for tree_id, tree in self._trees():
            for chunk, nodes in tree.take_changes().items():
                changes[chunk_key(tree_id, chunk)] = None if nodes is None else _fields(nodes)
        self._nullifier_changes(changes)
        return changes

    def _balance_changes(self, changes: dict[bytes, bytes | None]) -> None:
        """The `bal` items of the balances changed since they were last written."""
        balances = self.state.balances
        for account in self._balances.keys() | balances.keys():
            if self._balances.get(account) != balances.get(account):
                amount = balances.get(account)
                value = None if amount is None else amount.to_bytes(8, "big")
                changes[balance_key(account)] = value
        self._balances = dict(balances)

    def _nullifier_changes(self, changes: dict[bytes, bytes | None]) -> None:
        """Journal -> items: a block's reveals become one batch per (epoch, tier); a pruned
        epoch's batches, count and per-nullifier items are deleted. A nullifier recorded and
        pruned again since the last call was never written: it changes nothing."""
        nullifiers = self.state.nullifiers
        added, removed = nullifiers.take_changes()
        recorded = {entry.nullifier for entry in added}
        transient = {
            entry.nullifier
            for entry in removed
            if entry.nullifier in recorded and nullifiers.record(entry.nullifier) is None
        }
        emptied: set[tuple[int, bool]] = set()
        for entry in removed:
            if entry.nullifier not in transient:
                changes[nullifier_key(entry.nullifier)] = None
                emptied.add((entry.epoch, entry.permanent))
        for bucket in emptied:
            _ensure(
                not bucket[1] and bucket[0] not in nullifiers.epochs(),
                f"nullifiers of epoch {bucket[0]} removed without pruning the epoch",
            )
            for seq in range(self._buckets.pop(bucket, 0)):
                changes[bucket_key(bucket[0], bucket[1], seq)] = None
            changes[bucket_count_key(*bucket)] = None
        groups: dict[tuple[int, bool], list[int]] = {}
        for entry in added:
            if entry.nullifier not in transient:
                changes[nullifier_key(entry.nullifier)] = _nullifier_value(entry)
                groups.setdefault((entry.epoch, entry.permanent), []).append(entry.nullifier)
        for bucket, batch in groups.items():
            seq = self._buckets.get(bucket, 0)
            changes[bucket_key(bucket[0], bucket[1], seq)] = _fields(batch)
            changes[bucket_count_key(*bucket)] = (seq + 1).to_bytes(4, "big")
            self._buckets[bucket] = seq + 1

    @classmethod
    def load(cls, config: PoolConfig, read: Reader) -> PoolStorage:
        """The pool as its storage items hold it; PoolStorageError if they are malformed."""
        try:
            return _load(cls, config, read)
        except (NotesError, NullifierError, SpamProofError) as error:
            raise PoolStorageError(f"pool storage: {error}") from error


def _nullifier_value(entry: RevealedNullifier) -> bytes:
    return entry.epoch.to_bytes(4, "big") + bytes((entry.permanent,))


def _required(read: Reader, key: bytes) -> bytes:
    value = read(key)
    _ensure(value is not None, f"pool storage item {key!r} is missing")
    assert value is not None
    return value


# -- reading the items (shared with `shielded.pool_lazy`) -----------------------------------


@dataclass(frozen=True)
class PoolMeta:
    """The `meta` item."""

    epoch: int
    pool_value: int
    locked_collateral: int
    fee_ledger: fees.FeeLedger
    nullifiers: int | None
    """The nullifier count (None: a meta item of seven numbers, written before it was kept)."""


def read_meta(read: Reader) -> PoolMeta:
    meta = _ints(_required(read, META_KEY), 8, "pool meta")
    _ensure(len(meta) in (7, 8), "malformed pool meta")
    epoch, pool_value, locked, *ledger = meta[:7]
    count = meta[7] if len(meta) == 8 else None
    return PoolMeta(epoch, pool_value, locked, fees.FeeLedger(*ledger), count)


def read_tree_size(read: Reader, tree_id: int) -> int:
    size_item = _required(read, tree_size_key(tree_id))
    _ensure(len(size_item) == 4, f"malformed size of tree {tree_id}")
    return int.from_bytes(size_item, "big")


def _load_tree(read: Reader, tree_id: int, depth: int) -> MerkleTree:
    def read_chunk(chunk: ChunkId) -> list[int] | None:
        data = read(chunk_key(tree_id, chunk))
        return None if data is None else _ints(data, 32, f"chunk {chunk} of tree {tree_id}")

    return MerkleTree.restore(depth, read_tree_size(read, tree_id), read_chunk)


TreeReader = Callable[[int, int], MerkleTree]
"""(tree id, depth) -> the tree."""


def build_state(
    config: PoolConfig,
    read: Reader,
    meta: PoolMeta,
    tree: TreeReader,
    balances: dict[bytes, int],
    nullifiers: NullifierSet,
) -> PoolState:
    """The `PoolState` of the items: the trees from `tree`, the ring, the anchor window and
    the personhood usage read whole, with the given balances and nullifier set."""
    ring = [None if e == FREE_SLOT else e for e in _ints(_required(read, RING_KEY), 4, "ring")]
    subtrees = [tree(FIRST_SUBTREE + slot, SUBTREE_DEPTH) for slot in range(len(ring))]
    live = LiveTree.from_parts(
        config.lifetime, meta.epoch, ring, subtrees, tree(RING_TREE, RING_BITS)
    )
    window: list[int] = []
    anchors: dict[int, PoolStatistics] = {}
    for record in _split(_required(read, ANCHORS_KEY), 48, "anchor window"):
        window.append(int.from_bytes(record[:32], "big"))
        anchors[window[-1]] = PoolStatistics(
            int.from_bytes(record[32:40], "big"), int.from_bytes(record[40:], "big")
        )
    trees = CommitmentTrees.from_parts(
        live, tree(PERMANENT_TREE, TREE_DEPTH), config.anchor_window, window
    )
    personhood = {}
    for record in _split(read(PERSONHOOD_KEY) or b"", 48, "personhood usage"):
        key = (int.from_bytes(record[:8], "big"), record[8:40])
        personhood[key] = int.from_bytes(record[40:], "big")
    return PoolState(
        config=config,
        trees=trees,
        nullifiers=nullifiers,
        epoch=meta.epoch,
        balances=balances,
        pool_value=meta.pool_value,
        locked_collateral=meta.locked_collateral,
        fee_ledger=meta.fee_ledger,
        personhood_used=personhood,
        anchor_statistics=anchors,
    )


def read_spam_registry(config: PoolConfig, read: Reader) -> tuple[RecentAnchors, UsedProofs]:
    """The spam-proof window and the used proofs of each of its positions."""
    hashes = _required(read, SPAM_WINDOW_KEY)
    _ensure(len(hashes) >= 8, "malformed spam-proof window")
    recent = RecentAnchors(
        config.spec.recent_anchors,
        _split(hashes[8:], 32, "spam-proof window"),
        first_position=int.from_bytes(hashes[:8], "big"),
    )
    used = UsedProofs()
    for position in range(recent.oldest_position, recent.oldest_position + len(recent)):
        for tx_id in _split(read(spam_used_key(position)) or b"", 32, "used proofs"):
            used.record(tx_id, position)
    return recent, used


def _load(cls: type[PoolStorage], config: PoolConfig, read: Reader) -> PoolStorage:
    meta = read_meta(read)
    balances = {}
    for account in _split(read(ACCOUNTS_KEY) or b"", 32, "account index"):
        balances[account] = int.from_bytes(_required(read, balance_key(account)), "big")
    nullifiers = NullifierSet(config.lifetime)
    buckets: dict[tuple[int, bool], int] = {}
    for bucket_epoch in range(meta.epoch + 1):
        for permanent in (False, True):
            count_item = read(bucket_count_key(bucket_epoch, permanent))
            if count_item is None:
                continue
            count = int.from_bytes(count_item, "big")
            buckets[bucket_epoch, permanent] = count
            revealed = [
                RevealedNullifier(value, bucket_epoch, permanent)
                for seq in range(count)
                for value in _ints(
                    _required(read, bucket_key(bucket_epoch, permanent, seq)), 32, "nullifiers"
                )
            ]
            nullifiers.insert(revealed)
    nullifiers.take_changes()
    _ensure(
        meta.nullifiers in (None, len(nullifiers)),
        f"pool meta counts {meta.nullifiers} nullifiers, the items hold {len(nullifiers)}",
    )

    def tree(tree_id: int, depth: int) -> MerkleTree:
        return _load_tree(read, tree_id, depth)

    state = build_state(config, read, meta, tree, balances, nullifiers)
    recent, used = read_spam_registry(config, read)
    storage = cls(PoolSnapshot(state, recent, used))
    storage._small = storage._small_items()
    storage._balances = dict(balances)
    storage._used = storage._used_items()
    storage._buckets = buckets
    for _, each in storage._trees():
        each.take_changes()
    return storage
