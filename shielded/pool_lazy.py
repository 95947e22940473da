"""The pool's storage read lazily: only the items a block touches (the native service).

`PoolStorage.load` reads every item: O(pool) reads. The native service pays 10 gas per
read and its gas used is consensus (π_S), so it loads a `LazyPoolStorage` every block, whose
parts read an item on first touch:

- at load, the small items whole (each bounded by the configuration): `meta` (with the
  nullifier count `len()` gives), `ring`, `anchors`, `personhood`, the tree sizes, the
  spam-proof window and the used proofs of each of its positions;
- trees (`shielded.notes.lazy_tree.LazyMerkleTree`): every stored level is a `LazyLevel`,
  a list-like reading its 16-node chunks on first touch, so `MerkleTree`'s own code runs
  unchanged: an append reads at most the last chunk of each stored level (the frontier),
  and the reset of an expired subtree deletes its chunk keys (computed from its size)
  without reading them;
- nullifiers (`LazyNullifierSet`): the `nf` item of each candidate checked; pruning an
  epoch reads its batch count and batches (to delete its items);
- balances (`LazyBalances`) and batch counts (`LazyCounts`): one item each on first
  touch; the `accounts` index only when an account appears or goes.

So a block's reads, like its writes, are a function of the state and the block's inputs,
and their number does not grow with the pool. `take_changes` diffs only what was touched and
gives what a fully loaded `PoolStorage` gives for the same block. A lazy storage cannot
enumerate the pool (`all_items`, `NullifierSet.entries`, `encode_state`): load it whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import TypeVar, cast

from shielded.notes.errors import NotesError
from shielded.notes.lazy_tree import LazyMerkleTree
from shielded.notes.merkle_tree import ChunkId, MerkleTree
from shielded.notes.poseidon import FIELD_MODULUS
from shielded.nullifiers.errors import NullifierError
from shielded.nullifiers.nullifier_set import NullifierSet, RevealedNullifier
from shielded.pool_storage import (
    ACCOUNTS_KEY,
    PoolSnapshot,
    PoolStorage,
    PoolStorageError,
    Reader,
    balance_key,
    bucket_count_key,
    bucket_key,
    build_state,
    chunk_key,
    decode_nullifier_record,
    nullifier_key,
    read_meta,
    read_spam_registry,
    read_tree_size,
)
from shielded.pow import SpamProofError
from shielded.service import PoolConfig

__all__ = [
    "LazyBalances",
    "LazyCounts",
    "LazyInts",
    "LazyNullifierSet",
    "LazyPoolStorage",
]

Bucket = tuple[int, bool]
"""(reveal epoch, permanent): one `nfc` count and its `nfb` batches."""
K = TypeVar("K")


def _ensure(condition: bool, message: str) -> None:
    if not condition:
        raise PoolStorageError(message)


def _words(data: bytes, width: int, what: str) -> list[bytes]:
    _ensure(len(data) % width == 0, f"malformed {what}: {len(data)} octets")
    return [data[i : i + width] for i in range(0, len(data), width)]


# -- nullifiers, batch counts, balances --------------------------------------------------------


class LazyInts(MutableMapping[K, int]):
    """Integers kept one per item (`key(k)` holds the value big-endian in `width` octets),
    each read on first touch. Iteration and `len` cover the keys touched so far."""

    def __init__(self, read: Reader, key: Callable[[K], bytes], width: int) -> None:
        self._read = read
        self._key = key
        self._width = width
        self._written: dict[K, int | None] = {}
        """Each touched key's value as the items hold it (None: no item)."""
        self._current: dict[K, int | None] = {}

    def _lookup(self, key: K) -> int | None:
        if key not in self._current:
            raw = self._read(self._key(key))
            _ensure(raw is None or len(raw) == self._width, f"malformed item of {key!r}")
            value = None if raw is None else int.from_bytes(raw, "big")
            self._written[key] = self._current[key] = value
        return self._current[key]

    def __getitem__(self, key: K) -> int:
        value = self._lookup(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: K, value: int) -> None:
        self._lookup(key)  # what the items hold, for `take_changes`
        self._current[key] = value

    def __delitem__(self, key: K) -> None:
        self[key]  # KeyError if absent
        self._current[key] = None

    def __iter__(self) -> Iterator[K]:
        return iter([key for key, value in self._current.items() if value is not None])

    def __len__(self) -> int:
        return sum(1 for _ in self)


class LazyCounts(LazyInts[Bucket]):
    """The batch counts of the nullifier buckets (`nfc` items)."""

    def __init__(self, read: Reader) -> None:
        super().__init__(read, lambda bucket: bucket_count_key(*bucket), 4)


class LazyNullifierSet(NullifierSet):
    """The nullifier set over its items: what `accumulate` and `begin_epoch` use of a
    `NullifierSet` (`check_unspent`, `insert`, `prune`, the journal), reading the `nf`
    item of each nullifier asked about and a pruned epoch's batches; `len` is the count
    the pool meta keeps. Ephemeral nullifiers are held for the epochs [low, high]: at a
    load at epoch e, [e - N, e] (`prune` has dropped every older one)."""

    def __init__(
        self, lifetime: int, epoch: int, count: int, read: Reader, counts: LazyCounts
    ) -> None:
        super().__init__(lifetime)
        self._read = read
        self._counts = counts
        self._count = count
        self._known: dict[int, RevealedNullifier | None] = {}
        self._low, self._high = max(0, epoch - lifetime), epoch
        self._fresh: dict[int, list[RevealedNullifier]] = {}
        """Ephemeral reveals since the last `take_changes`, by epoch (in no batch yet)."""

    def __len__(self) -> int:
        return self._count

    def __contains__(self, nullifier: object) -> bool:
        return isinstance(nullifier, int) and self.record(nullifier) is not None

    def record(self, nullifier: int) -> RevealedNullifier | None:
        """How `nullifier` was revealed (its `nf` item, read once), or None."""
        if not 0 <= nullifier < FIELD_MODULUS:
            return None
        if nullifier not in self._known:
            raw = self._read(nullifier_key(nullifier))
            known = None if raw is None else decode_nullifier_record(nullifier, raw)
            self._known[nullifier] = known
        return self._known[nullifier]

    def _add(self, entry: RevealedNullifier) -> None:
        """`NullifierSet.insert`'s record of one checked reveal, in this block's journal
        (`check_unspent` reads each candidate's item through `record`)."""
        self._known[entry.nullifier] = entry
        self._added.append(entry)
        self._count += 1
        if not entry.permanent:
            self._fresh.setdefault(entry.epoch, []).append(entry)
            self._low, self._high = min(self._low, entry.epoch), max(self._high, entry.epoch)

    def prune(self, current_epoch: int) -> int:
        """Drop the ephemeral nullifiers of every epoch s with current_epoch > s + N (read
        from their batches); returns how many were dropped."""
        last = min(self._high, current_epoch - self.lifetime - 1)
        dropped = 0
        for epoch in range(self._low, last + 1):
            entries = [
                RevealedNullifier(int.from_bytes(value, "big"), epoch, False)
                for seq in range(self._counts.get((epoch, False), 0))
                for value in _words(self._batch(epoch, seq), 32, "nullifier batch")
            ]
            entries.extend(self._fresh.pop(epoch, ()))
            for entry in entries:
                self._known[entry.nullifier] = None
                self._removed.append(entry)
            dropped += len(entries)
        self._low = max(self._low, current_epoch - self.lifetime)
        self._count -= dropped
        return dropped

    def _batch(self, epoch: int, seq: int) -> bytes:
        raw = self._read(bucket_key(epoch, False, seq))
        _ensure(raw is not None, f"nullifier batch {seq} of epoch {epoch} is missing")
        assert raw is not None
        return raw

    def epochs(self) -> set[int]:
        """The epochs that may hold ephemeral nullifiers (a superset of those that do:
        telling them apart would take reads)."""
        return set(range(self._low, self._high + 1))

    def take_changes(self) -> tuple[list[RevealedNullifier], list[RevealedNullifier]]:
        self._fresh = {}
        return super().take_changes()

    def remove(self, nullifiers: Iterable[int]) -> None:
        raise NullifierError("a lazily read nullifier set does not roll back")

    def entries(self) -> list[RevealedNullifier]:
        raise NullifierError("a lazily read nullifier set cannot list its nullifiers")


class LazyBalances(LazyInts[bytes]):
    """The transparent balances (`bal ‖ account` items); iterating reads the `accounts`
    index, which `take_changes` rewrites when an account appears or goes."""

    def __init__(self, read: Reader) -> None:
        super().__init__(read, balance_key, 8)
        self._index: list[bytes] | None = None

    def _accounts(self) -> list[bytes]:
        """The `accounts` index as the items hold it (read once)."""
        if self._index is None:
            self._index = _words(self._read(ACCOUNTS_KEY) or b"", 32, "account index")
        return self._index

    def __iter__(self) -> Iterator[bytes]:
        held = set(self._accounts())
        held.difference_update(a for a, value in self._current.items() if value is None)
        held.update(a for a, value in self._current.items() if value is not None)
        return iter(sorted(held))

    def take_changes(self) -> dict[bytes, bytes | None]:
        """The `bal` items changed since the last call, and the `accounts` index if an
        account appeared or went."""
        changes: dict[bytes, bytes | None] = {}
        joined: set[bytes] = set()
        left: set[bytes] = set()
        for account, value in self._current.items():
            before = self._written[account]
            if value != before:
                changes[balance_key(account)] = None if value is None else value.to_bytes(8, "big")
                if before is None:
                    joined.add(account)
                elif value is None:
                    left.add(account)
                self._written[account] = value
        if joined or left:
            index = sorted((set(self._accounts()) | joined) - left)
            if index != self._accounts():
                changes[ACCOUNTS_KEY] = b"".join(index)
            self._index = index
        return changes


# -- the storage -----------------------------------------------------------------------------


class _Overlay:
    """The reader of the items as of the load, with the changes taken since on top (so a
    lazy storage may go on for several blocks)."""

    def __init__(self, read: Reader) -> None:
        self._base = read
        self._written: dict[bytes, bytes | None] = {}

    def read(self, key: bytes) -> bytes | None:
        if key in self._written:
            return self._written[key] or None
        return self._base(key)

    def update(self, changes: dict[bytes, bytes | None]) -> None:
        self._written.update(changes)


class LazyPoolStorage(PoolStorage):
    """A `PoolStorage` whose state reads its items on first touch (module docstring)."""

    def __init__(
        self,
        snapshot: PoolSnapshot,
        overlay: _Overlay,
        balances: LazyBalances,
        counts: LazyCounts,
    ) -> None:
        super().__init__(snapshot)
        self._overlay = overlay
        self._lazy_balances = balances
        self._buckets = counts

    @classmethod
    def load(cls, config: PoolConfig, read: Reader) -> LazyPoolStorage:
        """The pool over its items, reading only the small ones now; PoolStorageError if
        they (or, later, an item touched) are malformed."""
        try:
            return cls._load_lazy(config, read)
        except (NotesError, NullifierError, SpamProofError) as error:
            raise PoolStorageError(f"pool storage: {error}") from error

    @classmethod
    def _load_lazy(cls, config: PoolConfig, read: Reader) -> LazyPoolStorage:
        overlay = _Overlay(read)
        meta = read_meta(overlay.read)
        _ensure(meta.nullifiers is not None, "the pool meta keeps no nullifier count")
        assert meta.nullifiers is not None
        counts = LazyCounts(overlay.read)
        balances = LazyBalances(overlay.read)
        nullifiers = LazyNullifierSet(
            config.lifetime, meta.epoch, meta.nullifiers, overlay.read, counts
        )

        def tree(tree_id: int, depth: int) -> MerkleTree:
            def read_chunk(chunk: ChunkId) -> list[int] | None:
                data = overlay.read(chunk_key(tree_id, chunk))
                if data is None:
                    return None
                return [int.from_bytes(word, "big") for word in _words(data, 32, "tree chunk")]

            return LazyMerkleTree(depth, read_tree_size(overlay.read, tree_id), read_chunk)

        mapping = cast("dict[bytes, int]", balances)  # PoolState only gets, sets and reads it
        state = build_state(config, overlay.read, meta, tree, mapping, nullifiers)
        anchors, used = read_spam_registry(config, overlay.read)
        storage = cls(PoolSnapshot(state, anchors, used), overlay, balances, counts)
        storage._small = storage._small_items()
        storage._used = storage._used_items()
        return storage

    def _small_items(self) -> dict[bytes, bytes]:
        return self._fixed_items()  # `accounts` goes with the balances

    def _balance_changes(self, changes: dict[bytes, bytes | None]) -> None:
        changes.update(self._lazy_balances.take_changes())

    def take_changes(self) -> dict[bytes, bytes | None]:
        """The items changed since the last call: the same as a fully loaded storage's."""
        changes = super().take_changes()
        self._overlay.update(changes)
        return changes

    def all_items(self) -> dict[bytes, bytes]:
        raise PoolStorageError("a lazily read pool cannot list its items: load it whole")
